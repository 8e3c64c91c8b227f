// The screen is being written; until then the route shows its name.
export function AdminQueue() {
  return <h1>AdminQueue</h1>;
}
