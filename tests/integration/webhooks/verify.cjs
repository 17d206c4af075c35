// Checks webhook deliveries with the standardwebhooks package (an implementation independent of
// Loupe's). Input on stdin: {"secret": "whsec_…", "deliveries": [{"headers": {…}, "body": "…"}]}.
// Prints {"verified": n, "failures": [{"index", "error"}]} and exits 1 when any failed.
const { Webhook } = require("standardwebhooks");

let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const { secret, deliveries } = JSON.parse(input);
  const wh = new Webhook(secret);
  const failures = [];
  let verified = 0;
  deliveries.forEach((d, index) => {
    try {
      wh.verify(d.body, d.headers);
      verified++;
    } catch (e) {
      failures.push({ index, error: String(e && e.message ? e.message : e) });
    }
  });
  process.stdout.write(JSON.stringify({ verified, failures }) + "\n");
  process.exit(failures.length ? 1 : 0);
});
