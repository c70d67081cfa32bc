import { redirect } from "@sveltejs/kit";

/** The endpoint list lives at `/`; `/endpoints` is kept as an alias. */
export const load = () => {
  redirect(307, "/");
};
