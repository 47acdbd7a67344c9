// A tiny history router: the path picks the page, the query string holds
// the page's state (see lib/filters.js).
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

function current() {
  return { path: window.location.pathname, search: window.location.search };
}

function notify() {
  for (const l of listeners) l();
}

window.addEventListener('popstate', notify);

/** Go to a same-origin URL ("/projects", "/?level=ERROR"). */
export function navigate(to, { replace = false } = {}) {
  const now = window.location.pathname + window.location.search;
  if (to === now) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  notify();
}

/** The current {path, search}; re-renders on navigation and back/forward. */
export function useLocation() {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    l();
    return () => listeners.delete(l);
  }, []);
  return loc;
}

/** An <a> that navigates without reloading the page (plain clicks only). */
export function Link({ href, onClick, ...rest }) {
  const click = (e) => {
    if (onClick) onClick(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}
