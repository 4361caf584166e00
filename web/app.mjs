// Loads the duet-core module and checks the message in the text box with it as it is edited:
// valid messages show their type and the message as the core writes it back; invalid ones show
// the error code and message the server would answer with.
const version = document.getElementById('version');
const box = document.getElementById('message');
const verdict = document.getElementById('verdict');

function show(className, heading, detail) {
  const title = document.createElement('p');
  title.className = className;
  title.textContent = heading;
  const body = document.createElement('pre');
  body.textContent = detail;
  verdict.replaceChildren(title, body);
}

let core;
try {
  const { default: createDuetCore } = await import('/duet/duet-core.mjs');
  core = await createDuetCore();
} catch (error) {
  version.textContent = 'unavailable';
  show('error', 'The duet-core module did not load. Build it with tools/run.', String(error));
}

if (core) {
  version.textContent = String(core.protocolVersion());
  const check = () => {
    if (box.value.trim() === '') return verdict.replaceChildren();
    const result = JSON.parse(core.checkMessage(box.value));
    if (result.ok) show('ok', `Valid: ${result.type}`, JSON.stringify(result.message, null, 2));
    else show('error', `Refused: ${result.error.code}`, result.error.message);
  };
  box.addEventListener('input', check);
  check();
}
