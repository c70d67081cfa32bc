import { sveltekit } from "@sveltejs/kit/vite";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";

/** Target of `npm run dev -w @hookly/ui`: an edge on this machine (HOOKLY_EDGE_URL, default http://127.0.0.1:8080). */
const edge = process.env.HOOKLY_EDGE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [tailwindcss(), sveltekit()],
  server: {
    // In development the UI runs on Vite; the edge stays the one origin for cookies by proxying.
    proxy: {
      "/auth": { target: edge, changeOrigin: false },
      "/hookly.v1.AdminService": { target: edge, changeOrigin: false },
      "/h/": { target: edge, changeOrigin: false },
    },
  },
});
