// Becoming contacts, as the README's walk-through does it in two browsers: a request, a decline,
// a second request and its accept, each showing on the other person's page while it is open.
// The app also reloads its contacts every 30 s; every step here must show well before that, so
// it is the server's push (a presence message about someone not in the list) that brings it.
import { check, scenario, until, WAIT } from './harness.mjs';

/** Whether the element with this testid is on the person's page now. */
async function shows(person, testid) {
  return (await person.el(testid).count()) > 0;
}

/** Waits (at most WAIT.ui, a third of the reload period) until `testid` is on, or with `gone` off, the page. */
async function waitFor(person, testid, { gone = false } = {}) {
  await until(`${person.who}: "${testid}" ${gone ? 'gone' : 'shown'}`, async () => {
    const there = await shows(person, testid);
    return { ok: there !== gone, seen: await person.state() };
  }, { timeout: WAIT.ui, context: () => person.world.describe(), signal: person.world.signal });
}

scenario('a contact request, its decline and its accept reach the other open page at once, without a reload',
  { slug: 'contacts', timeout: 90_000 }, async (world) => {
    const [aliceUser, bobUser] = await world.strangers('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);
    // A mark in each page's window: a reload would lose it.
    await Promise.all([alice, bob].map((p) => p.page.evaluate(() => { window.__sameDocument = true; })));

    // 1. Alice asks for Bob by username; Bob's page lists the request.
    const ask = async () => {
      await alice.el('contact-add-input').fill(bobUser.username.toUpperCase(), { timeout: WAIT.ui });
      await alice.click('contact-add-submit');
      await waitFor(alice, `pending-${bobUser.username}`);
      await waitFor(bob, `request-${aliceUser.username}`);
    };
    await ask();
    await bob.shot('contact-request');

    // 2. Bob declines; Alice's pending request goes away on her page.
    await bob.click(`request-decline-${aliceUser.username}`);
    await waitFor(bob, `request-${aliceUser.username}`, { gone: true });
    await waitFor(alice, `pending-${bobUser.username}`, { gone: true });

    // 3. Alice asks again and Bob accepts: each is in the other's contacts, online, ready to call.
    await ask();
    await bob.click(`request-accept-${aliceUser.username}`);
    await waitFor(alice, `contact-${bobUser.username}`);
    await waitFor(bob, `contact-${aliceUser.username}`);
    for (const [person, other] of [[alice, bobUser], [bob, aliceUser]]) {
      await until(`${person.who}: ${other.label} shown online`, async () => {
        const presence = await person.el(`contact-${other.username}`).getAttribute('data-presence');
        return { ok: presence === 'online', seen: presence };
      }, { timeout: WAIT.ui, signal: world.signal });
      check(await shows(person, `call-video-${other.username}`), `${person.who} can video-call ${other.label}`);
    }
    await alice.shot('contact-accepted');

    // The same pages throughout: nobody reloaded to see any of it.
    for (const person of [alice, bob]) {
      check(await person.page.evaluate(() => window.__sameDocument === true), `${person.who}'s page was not reloaded`);
    }
  });
