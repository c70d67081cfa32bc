// The UI is a single-page app: the edge serves index.html for every client route.
export const ssr = false;
export const prerender = false;
