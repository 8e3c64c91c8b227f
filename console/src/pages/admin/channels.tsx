// The screen is being written; until then the route shows its name.
export function AdminChannels() {
  return <h1>AdminChannels</h1>;
}
