// The screen is being written; until then the route shows its name.
export function AdminUsage(props: { query: URLSearchParams }) {
  void props;
  return <h1>AdminUsage</h1>;
}
