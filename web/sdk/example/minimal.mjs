import { DuetClient } from '/sdk/duet-client.mjs';

const $ = (id) => document.getElementById(id);
let client;

$('login').onsubmit = async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
  });
  const session = await response.json();
  if (!response.ok) return ($('status').textContent = session.error.message);
  client = await DuetClient.create({ token: session.token });
  client.unlockAudio(); // a click: the ringtone may play from now on
  client.on('state', (view) => {
    $('status').textContent = `${view.state} ${view.peerName || view.peer} ${view.endReason ?? ''}`;
    $('answer').hidden = view.state !== 'incoming';
    $('hangup').hidden = !['outgoing', 'incoming', 'connecting', 'active'].includes(view.state);
  });
  client.on('refused', ({ message }) => ($('status').textContent = message));
  client.on('localStream', (stream) => ($('local').srcObject = stream));
  client.on('remoteStream', (stream) => ($('remote').srcObject = stream));
  $('login').hidden = true;
  $('dial').hidden = false;
};
$('dial').onsubmit = (event) => {
  event.preventDefault();
  client.call(new FormData(event.target).get('peer'), { video: true });
};
$('answer').onclick = () => client.accept();
$('hangup').onclick = () => client.hangUp();
