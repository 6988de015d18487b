import { defineConfig } from "vite";

// /widget.js: the embeddable chat widget, one small IIFE next to the app's files in dist/
// (the app's build empties dist first, so this build runs second; see package.json).
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: false,
    sourcemap: false,
    lib: {
      entry: "src/widgets/embed/widget.ts",
      name: "ReporunnerChat",
      formats: ["iife"],
      fileName: () => "widget.js",
    },
  },
});
