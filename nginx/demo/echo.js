// A tiny httpbin-like upstream for the demo and the tests: answers JSON with
// the method, path, query args, headers and cookies it received.
function titleCase(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, function (m, dash, letter) {
    return dash + letter.toUpperCase();
  });
}

function handle(r) {
  var headers = {};
  var raw = r.rawHeadersIn;
  for (var i = 0; i < raw.length; i++) {
    var name = titleCase(raw[i][0]);
    headers[name] = headers[name] === undefined ? raw[i][1] : headers[name] + ',' + raw[i][1];
  }
  var args = {};
  var names = Object.keys(r.args);
  for (var j = 0; j < names.length; j++) args[names[j]] = r.args[names[j]];
  var body = {
    method: r.method,
    url: r.variables.request_uri,
    path: r.uri,
    args: args,
    headers: headers,
  };
  r.headersOut['Content-Type'] = 'application/json';
  r.return(200, JSON.stringify(body, null, 2) + '\n');
}

export default { handle };
