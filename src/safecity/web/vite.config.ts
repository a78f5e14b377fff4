// Builds the command-center UI into dist/, which `safecity serve` serves at / (SPA, index.html fallback).
// `npm run dev` proxies the API of a `safecity serve` running on $SAFECITY_API (default 127.0.0.1:8080).
import { defineConfig } from "vite";

const api = process.env.SAFECITY_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      "/api": api,
      "/metrics": api,
      "/ws": { target: api.replace(/^http/, "ws"), ws: true },
    },
  },
});
