// Vite builds the console into `dist` (or the folder `--outDir` names, as the
// Rust build does); `npm run dev` serves it with the API proxied to a running
// `omnibus dev`. Vitest runs the component tests in jsdom.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const api = process.env.OMNIBUS_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: { sourcemap: false, chunkSizeWarningLimit: 1200 },
  server: { proxy: { "/v1": api, "/healthz": api } },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
    globals: true,
  },
});
