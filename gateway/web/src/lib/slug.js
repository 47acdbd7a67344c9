// Project slugs: 1-100 lowercase letters, digits and dashes (the projects
// service's rule).

export const SLUG_RE = /^[a-z0-9-]{1,100}$/;

/** "My Shop API (EU)" -> "my-shop-api-eu". */
export function suggestSlug(name) {
  const s = String(name ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents: "Café" -> "Cafe"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
    .replace(/-+$/, '');
  return s;
}

/** An error message for a slug, or "" when it is valid. */
export function slugProblem(slug) {
  if (!slug) return 'A slug is required.';
  if (slug.length > 100) return 'At most 100 characters.';
  if (!SLUG_RE.test(slug)) return 'Only lowercase letters, digits and dashes.';
  return '';
}
