// The screen is being written; until then the route shows its name.
export function Playground(props: { query: URLSearchParams }) {
  void props;
  return <h1>Playground</h1>;
}
