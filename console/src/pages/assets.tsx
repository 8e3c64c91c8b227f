// The screen is being written; until then the route shows its name.
export function Assets(props: { query: URLSearchParams }) {
  void props;
  return <h1>Assets</h1>;
}
