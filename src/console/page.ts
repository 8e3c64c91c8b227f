/**
 * The web console at `/`: try the API from a browser with an API key. Plain HTML and a little
 * script, talking to the same public API as any client; the key stays in the browser's storage.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidgate console</title>
<style>
  :root { font-family: system-ui, sans-serif; color-scheme: light dark; }
  body { max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.4rem; } h1 small { font-weight: normal; opacity: .7; }
  fieldset { border: 1px solid #8884; border-radius: .5rem; margin: 0 0 1rem; }
  label { display: inline-block; margin: .25rem 1rem .25rem 0; }
  textarea { width: 100%; min-height: 4rem; box-sizing: border-box; }
  input[type=password] { width: 28rem; max-width: 100%; }
  button { padding: .4rem 1rem; }
  progress { width: 20rem; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  td, th { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #8883; }
  video { max-width: 100%; margin-top: .5rem; }
  .error { color: #c33; } code { font-size: .85rem; }
</style>
</head>
<body>
<h1>vidgate <small>— the APIMart Seedance 2.0 API, self-hosted</small></h1>
<fieldset><legend>API key</legend>
  <input id="key" type="password" placeholder="sk-…" autocomplete="off">
  <button id="save">Use</button> <span id="balance"></span>
</fieldset>
<fieldset><legend>Generate</legend>
  <textarea id="prompt">A kitten yawning at the camera</textarea><br>
  <label>Model <select id="model"></select></label>
  <label>Resolution <select id="resolution"><option>480p</option><option selected>720p</option><option>1080p</option><option>4k</option></select></label>
  <label>Size <select id="size"><option>16:9</option><option>9:16</option><option>1:1</option><option>4:3</option><option>3:4</option><option>21:9</option><option>adaptive</option></select></label>
  <label>Duration <input id="duration" type="number" min="4" max="15" value="5" style="width:4rem"></label>
  <label><input id="audio" type="checkbox" checked> audio</label>
  <label><input id="lastframe" type="checkbox"> last frame</label>
  <button id="go">Submit</button>
  <div id="status"></div>
</fieldset>
<fieldset><legend>Your tasks</legend><table id="tasks"><thead><tr><th>task</th><th>status</th><th>progress</th><th>cost</th><th></th></tr></thead><tbody></tbody></table></fieldset>
<p><a href="/docs">API documentation</a> · <a href="/openapi.json">OpenAPI</a></p>
<script>
const $ = (id) => document.getElementById(id);
let key = localStorage.getItem('vidgate.key') || '';
$('key').value = key;
const api = async (path, init = {}) => {
  const res = await fetch(path, { ...init, headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json', ...(init.headers || {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
  return body;
};
const text = (el, value, cls) => { el.textContent = value; el.className = cls || ''; };
async function refresh() {
  if (!key) return;
  try {
    const b = await api('/v1/user/balance');
    text($('balance'), b.unlimited_quota ? 'unlimited quota' : 'balance $' + b.remain_balance + ' (used $' + b.used_balance + ')');
    if (!$('model').options.length) for (const m of (await api('/v1/models')).data) $('model').add(new Option(m.id));
    const rows = (await api('/v1/tasks?limit=10')).data;
    const body = $('tasks').tBodies[0];
    body.replaceChildren(...rows.map((t) => {
      const tr = document.createElement('tr');
      for (const v of [t.id, t.status, t.progress + '%', '$' + t.cost]) { const td = tr.insertCell(); td.textContent = v; }
      const td = tr.insertCell();
      if (t.result) { const a = document.createElement('a'); a.href = t.result.videos[0].url[0]; a.textContent = 'video'; a.target = '_blank'; td.append(a); }
      else if (t.error) td.textContent = t.error.message;
      return tr;
    }));
  } catch (e) { text($('balance'), e.message, 'error'); }
}
// The task's live events, read with fetch (EventSource cannot send the key); null when the stream ends early.
async function followEvents(id, show) {
  const res = await fetch('/v1/tasks/' + encodeURIComponent(id) + '/events', { headers: { authorization: 'Bearer ' + key, accept: 'text/event-stream' } });
  if (!res.ok || !(res.headers.get('content-type') || '').startsWith('text/event-stream')) return null;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\\n\\n')) >= 0) {
      const data = buffer.slice(0, end).split('\\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\\n');
      buffer = buffer.slice(end + 2);
      if (!data) continue;
      const t = JSON.parse(data).data;
      if (show(t)) { reader.cancel(); return t; }
    }
  }
}
async function watch(id) {
  const status = $('status');
  const bar = document.createElement('progress'); bar.max = 100;
  status.replaceChildren(document.createTextNode(id + ' '), bar);
  const show = (t) => {
    bar.value = t.progress;
    if (t.status === 'completed') {
      const video = document.createElement('video'); video.controls = true; video.autoplay = true; video.src = t.result.videos[0].url[0];
      status.replaceChildren(document.createTextNode(id + ' completed in ' + t.actual_time + ' s '), video);
      if (t.result.last_frame_url) { const img = document.createElement('img'); img.src = t.result.last_frame_url; img.style.maxWidth = '30%'; status.append(img); }
      return true;
    }
    if (t.status === 'failed' || t.status === 'cancelled') { text(status, id + ' ' + t.status + (t.error ? ': ' + t.error.message : ''), 'error'); return true; }
    return false;
  };
  // One stream for the whole task; polling once a second only if the stream is not there or breaks.
  if (await followEvents(id, show).catch(() => null)) return refresh();
  for (;;) {
    if (show((await api('/v1/tasks/' + encodeURIComponent(id))).data)) return refresh();
    await new Promise((r) => setTimeout(r, 1000));
  }
}
$('save').onclick = () => { key = $('key').value.trim(); localStorage.setItem('vidgate.key', key); refresh(); };
$('go').onclick = async () => {
  try {
    const body = { model: $('model').value || 'doubao-seedance-2.0', prompt: $('prompt').value, resolution: $('resolution').value, size: $('size').value,
      duration: Number($('duration').value), generate_audio: $('audio').checked, return_last_frame: $('lastframe').checked };
    const res = await api('/v1/videos/generations', { method: 'POST', body: JSON.stringify(body) });
    refresh();
    await watch(res.data[0].task_id);
  } catch (e) { text($('status'), e.message, 'error'); }
};
refresh();
</script>
</body>
</html>
`;
