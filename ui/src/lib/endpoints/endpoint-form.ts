import { ProviderType } from "@hookly/proto/gen/admin_pb";
import { PROVIDERS } from "$lib/format/names";

/** What the endpoint form edits; the provider is kept as its slug for the select. */
export interface EndpointFormValues {
  name: string;
  provider: string;
  /** Signature secrets, one per field (several during a rotation); blank fields are ignored. */
  secrets: string[];
  destination: string;
}

/** An empty form: one blank secret field. */
export function emptyEndpointForm(): EndpointFormValues {
  return { name: "", provider: "generic", secrets: [""], destination: "" };
}

/**
 * The secrets to send: each field as typed, less the spaces at its ends (a
 * paste often brings one; no provider's secret starts or ends with one),
 * blank fields left out. Never split: spaces and commas inside a secret are
 * part of it.
 */
export function secretsToSend(values: EndpointFormValues): string[] {
  return values.secrets.map((s) => s.trim()).filter((s) => s !== "");
}

/** Problems with the form, by field, in words for a person. */
export type EndpointFormErrors = Partial<Record<keyof EndpointFormValues, string>>;

/** The provider type for a slug from the select (`generic` when unknown). */
export function providerFromSlug(slug: string): ProviderType {
  return PROVIDERS.find((p) => p.slug === slug)?.value ?? ProviderType.GENERIC;
}

/** The select's slug for a provider type. */
export function slugFromProvider(type: ProviderType): string {
  return PROVIDERS.find((p) => p.value === type)?.slug ?? "generic";
}

/**
 * Checks what the edge would refuse anyway, so the person learns it next to the field.
 * The edge stays the authority (it also checks which destinations the hub may reach).
 */
export function validateEndpoint(values: EndpointFormValues): EndpointFormErrors {
  const errors: EndpointFormErrors = {};
  if (!values.name.trim()) errors.name = "Give the endpoint a name, e.g. “Stripe payments”.";
  const destination = values.destination.trim();
  if (!destination) {
    errors.destination = "Where should the hub deliver? e.g. http://192.168.1.20:8080/webhooks";
  } else {
    let url: URL | undefined;
    try {
      url = new URL(destination);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      errors.destination = "Enter a full http:// or https:// URL.";
    }
  }
  return errors;
}
