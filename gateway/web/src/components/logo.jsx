export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <rect x="2" y="14" width="4" height="8" rx="1" fill="currentColor" opacity="0.5" />
      <rect x="8" y="8" width="4" height="14" rx="1" fill="currentColor" opacity="0.7" />
      <rect x="14" y="11" width="4" height="11" rx="1" fill="currentColor" opacity="0.85" />
      <rect x="20" y="3" width="2.5" height="19" rx="1" fill="currentColor" />
    </svg>
  );
}
