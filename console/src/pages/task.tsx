// The screen is being written; until then the route shows its name.
export function TaskPage(props: { id: string }) {
  void props;
  return <h1>TaskPage</h1>;
}
