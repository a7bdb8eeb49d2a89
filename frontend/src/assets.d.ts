// CSS imports are bundled by esbuild into app.css; they have no value in TypeScript.
declare module "*.css";
