import adapter from "@sveltejs/adapter-static";
import { vitePreprocess } from "@sveltejs/vite-plugin-svelte";

/**
 * The UI is a single-page app served by the edge from `ui/build`. Every client route falls
 * back to `index.html`; the edge answers `/h/*`, `/auth/*` and the Connect API on the same origin.
 * @type {import("@sveltejs/kit").Config}
 */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({
      pages: "build",
      assets: "build",
      fallback: "index.html",
      precompress: true,
      strict: true,
    }),
    // note: payloads and headers are attacker-controlled. They are only ever rendered as text, and
    // this policy (a <meta> tag in index.html, with hashes of SvelteKit's boot script) is a second
    // line of defence should that ever slip.
    csp: {
      mode: "hash",
      directives: {
        "default-src": ["self"],
        "script-src": ["self"],
        "style-src": ["self", "unsafe-inline"],
        "img-src": ["self", "data:", "https://avatars.githubusercontent.com"],
        "connect-src": ["self"],
        "font-src": ["self"],
        "object-src": ["none"],
        "base-uri": ["self"],
        "form-action": ["self"],
      },
    },
  },
};

export default config;
