// The baseline for `make bench`: an empty Worker on the same workerd, answering 200 with a small
// JSON body, so /auth/me's cost can be quoted as a ratio against the runtime's own overhead.
export default {
  async fetch() {
    return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
  },
};
