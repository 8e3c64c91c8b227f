// The screen is being written; until then the route shows its name.
export function Usage(props: { query: URLSearchParams }) {
  void props;
  return <h1>Usage</h1>;
}
