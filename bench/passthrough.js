// The baseline: the thinnest Worker that forwards a request to one origin (ORIGIN = "host:port").
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    url.host = env.ORIGIN;
    return fetch(url, request);
  },
};
