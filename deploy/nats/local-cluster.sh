#!/usr/bin/env bash
# Start, check and stop a 3-node NATS JetStream cluster on loopback from the
# local nats-server binary (tested with v2.9.10), for trying employes-sync with
# NATS_STREAM_REPLICAS=3 or for failover experiments without a container engine.
#
#   deploy/nats/local-cluster.sh start  [options]   start 3 nodes, wait until the cluster is formed
#   deploy/nats/local-cluster.sh check  [options]   verify JetStream + 3 members + 2 routes per node
#   deploy/nats/local-cluster.sh smoke  [options]   create an R3 stream, publish, read it back, delete it
#   deploy/nats/local-cluster.sh status [options]   show which nodes run
#   deploy/nats/local-cluster.sh stop   [options]   stop the nodes this script started, delete the stores
#
# Options (each also settable through the environment variable in brackets):
#   --dir DIR               state dir: pids/, logs/, store/   [NATS_LOCAL_DIR, default ${TMPDIR:-/tmp}/employes-sync-nats-local]
#   --client-ports A,B,C    client ports                      [NATS_LOCAL_CLIENT_PORTS,  default 4301,4302,4303]
#   --cluster-ports A,B,C   route ports                       [NATS_LOCAL_CLUSTER_PORTS, default 6301,6302,6303]
#   --http-ports A,B,C      monitoring ports                  [NATS_LOCAL_HTTP_PORTS,    default 8301,8302,8303]
#   --bin PATH              nats-server binary                [NATS_SERVER_BIN, default /usr/sbin/nats-server, else PATH]
#   --timeout SECONDS       how long start waits for the cluster [NATS_LOCAL_TIMEOUT, default 30]
#   --keep-store            stop: keep the JetStream stores
#
# The ports chosen at start are remembered in DIR/ports.env, so check/status/stop
# need only the same --dir. stop signals only the pids this script recorded, and
# only if they still are nats-server processes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf_dir="$here/local"

cmd="${1:-}"
[[ $# -gt 0 ]] && shift

dir="${NATS_LOCAL_DIR:-${TMPDIR:-/tmp}/employes-sync-nats-local}"
client_ports="${NATS_LOCAL_CLIENT_PORTS:-}"
cluster_ports="${NATS_LOCAL_CLUSTER_PORTS:-}"
http_ports="${NATS_LOCAL_HTTP_PORTS:-}"
bin="${NATS_SERVER_BIN:-}"
timeout="${NATS_LOCAL_TIMEOUT:-30}"
keep_store=0

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "local-cluster: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --client-ports) client_ports="$2"; shift 2 ;;
    --cluster-ports) cluster_ports="$2"; shift 2 ;;
    --http-ports) http_ports="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --keep-store) keep_store=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

# Ports from the last start win over defaults (explicit options win over both).
if [[ -f "$dir/ports.env" ]]; then
  # shellcheck disable=SC1091
  source "$dir/ports.env"
  client_ports="${client_ports:-$SAVED_CLIENT_PORTS}"
  cluster_ports="${cluster_ports:-$SAVED_CLUSTER_PORTS}"
  http_ports="${http_ports:-$SAVED_HTTP_PORTS}"
fi
client_ports="${client_ports:-4301,4302,4303}"
cluster_ports="${cluster_ports:-6301,6302,6303}"
http_ports="${http_ports:-8301,8302,8303}"

split3() { # NAME VALUE -> array NAME of exactly 3 ports
  local -n out="$1"
  IFS=',' read -r -a out <<<"$2"
  [[ ${#out[@]} -eq 3 ]] || die "$1: need exactly 3 comma-separated ports, got '$2'"
  local p
  for p in "${out[@]}"; do
    [[ "$p" =~ ^[0-9]+$ && "$p" -ge 1 && "$p" -le 65535 ]] || die "$1: '$p' is not a port"
  done
}
split3 CP "$client_ports"
split3 RP "$cluster_ports"
split3 HP "$http_ports"

pid_of() { # node number -> pid or empty
  local f="$dir/pids/nats-$1.pid"
  if [[ -f "$f" ]]; then tr -dc '0-9' <"$f"; fi
}

is_ours() { # pid -> true when it is alive and a nats-server
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && \
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'nats-server'
}

port_busy() { # port -> true when something accepts on 127.0.0.1:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fetch() { # node-index(0..2) path -> body on stdout
  curl -fsS --max-time 2 "http://127.0.0.1:${HP[$1]}$2"
}

# One line per node; returns non-zero when any node is not a formed member.
check_cluster() {
  local quiet="${1:-}" bad=0 i
  for i in 0 1 2; do
    local n=$((i + 1)) varz jsz routez line
    if ! varz="$(fetch $i /varz 2>/dev/null)" || ! jsz="$(fetch $i /jsz 2>/dev/null)" || \
       ! routez="$(fetch $i /routez 2>/dev/null)"; then
      [[ -n "$quiet" ]] || echo "nats-$n: FAIL monitoring port ${HP[$i]} does not answer"
      bad=1; continue
    fi
    if ! line="$(VARZ="$varz" JSZ="$jsz" ROUTEZ="$routez" NODE="nats-$n" python3 - <<'PY'
import json, os, sys
varz, jsz, routez = (json.loads(os.environ[k]) for k in ("VARZ", "JSZ", "ROUTEZ"))
problems = []
js_enabled = bool(varz.get("jetstream", {}).get("config")) and not jsz.get("disabled", False)
if not js_enabled:
    problems.append("JetStream not enabled")
meta = jsz.get("meta_cluster") or {}
size = meta.get("cluster_size", 0)
if size != 3:
    problems.append(f"meta cluster size {size} != 3")
if not meta.get("leader"):
    problems.append("no meta leader yet")
routes = routez.get("num_routes", 0)
if routes != 2:
    problems.append(f"num_routes {routes} != 2")
cluster = varz.get("cluster", {}).get("name")
if cluster != "employes":
    problems.append(f"cluster name {cluster!r} != 'employes'")
status = "ok" if not problems else "FAIL " + "; ".join(problems)
print(f"{os.environ['NODE']}: {status} (server_name={varz.get('server_name')}, "
      f"jetstream={'enabled' if js_enabled else 'disabled'}, cluster={cluster}, "
      f"cluster_size={size}, leader={meta.get('leader')}, num_routes={routes})")
sys.exit(1 if problems else 0)
PY
    )"; then
      bad=1
    fi
    [[ -n "$quiet" ]] || echo "$line"
  done
  return $bad
}

# Create an R3 file stream through node 1, publish through node 2, read its
# state and replica set through node 3, then delete it: plain NATS protocol
# over a socket, so no nats CLI or client library is needed.
smoke_stream() {
  CP1="${CP[0]}" CP2="${CP[1]}" CP3="${CP[2]}" python3 - <<'PY'
import json, os, socket, sys, time

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
        self.buf = b""
        self.prefix = f"_INBOX.smoke.{os.urandom(6).hex()}"
        line = self._line()
        assert line.startswith(b"INFO "), line
        self.s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n'
                       + f"SUB {self.prefix}.* 1\r\nPING\r\n".encode())
        while self._line() != b"PONG":
            pass
        self.n = 0

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload):
        self.n += 1
        inbox = f"{self.prefix}.{self.n}"
        body = json.dumps(payload).encode() if payload is not None else b""
        self.s.sendall(f"PUB {subject} {inbox} {len(body)}\r\n".encode() + body + b"\r\n")
        while True:
            line = self._line()
            if line == b"PING":
                self.s.sendall(b"PONG\r\n")
                continue
            parts = line.split()
            if parts and parts[0] == b"MSG":
                data = self._bytes(int(parts[-1]))
            elif parts and parts[0] == b"HMSG":
                raw = self._bytes(int(parts[-1]))
                data = raw[int(parts[-2]):]
                if not data:
                    raise RuntimeError(f"{subject}: status reply {raw[:int(parts[-2])].splitlines()[0]!r}")
            elif parts and parts[0] == b"-ERR":
                raise RuntimeError(line.decode())
            else:
                continue
            if parts[1].decode() == inbox:
                return json.loads(data)

def ok(label, cond, detail):
    print(f"smoke: {'ok' if cond else 'FAIL'} {label} ({detail})")
    if not cond:
        sys.exit(1)

n1, n2, n3 = (Conn(os.environ[k]) for k in ("CP1", "CP2", "CP3"))
name = "LOCAL_SMOKE"
try:
    n3.request(f"$JS.API.STREAM.DELETE.{name}", None)  # leftover from an aborted run
    r = n1.request(f"$JS.API.STREAM.CREATE.{name}", {
        "name": name, "subjects": ["local_smoke.>"], "storage": "file",
        "num_replicas": 3, "retention": "limits", "duplicate_window": 120_000_000_000})
    ok("create R3 stream via node 1", "error" not in r and r["config"]["num_replicas"] == 3,
       r.get("error") or "num_replicas=3")
    # Interest in the new stream's subjects reaches node 2 over the routes
    # shortly after the create; until then a publish gets a 503 no-responders.
    for attempt in range(40):
        try:
            r = n2.request("local_smoke.hello", {"hello": "cluster"})
            break
        except RuntimeError as e:
            if "503" not in str(e) or attempt == 39:
                raise
            time.sleep(0.25)
    ok("publish via node 2 gets a PubAck", r.get("stream") == name and r.get("seq") == 1, r)
    info = {}
    for _ in range(40):
        info = n3.request(f"$JS.API.STREAM.INFO.{name}", None)
        reps = (info.get("cluster") or {}).get("replicas") or []
        if info.get("state", {}).get("messages") == 1 and len(reps) == 2 and all(x.get("current") for x in reps):
            break
        time.sleep(0.25)
    c = info.get("cluster") or {}
    reps = c.get("replicas") or []
    ok("stream info via node 3: 1 message, a leader and 2 current replicas",
       info.get("state", {}).get("messages") == 1 and bool(c.get("leader")) and len(reps) == 2
       and all(x.get("current") for x in reps),
       f"leader={c.get('leader')}, replicas={[x.get('name') for x in reps]}")
finally:
    r = n3.request(f"$JS.API.STREAM.DELETE.{name}", None)
ok("delete stream", r.get("success") is True, r.get("error") or "deleted")
PY
}

do_stop() {
  local i pid stopped=0
  for i in 1 2 3; do
    pid="$(pid_of $i)"
    if is_ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      local waited=0
      while kill -0 "$pid" 2>/dev/null && [[ $waited -lt 100 ]]; do sleep 0.1; waited=$((waited + 1)); done
      if kill -0 "$pid" 2>/dev/null; then
        echo "nats-$i (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "nats-$i (pid $pid) stopped"
      stopped=$((stopped + 1))
    elif [[ -n "$pid" ]]; then
      echo "nats-$i: pid $pid from $dir/pids is not running (stale pid file removed)"
    fi
    rm -f "$dir/pids/nats-$i.pid"
  done
  if [[ $keep_store -eq 0 && -d "$dir/store" ]]; then
    rm -rf "$dir/store"
  fi
  rm -f "$dir/ports.env"
  echo "stopped $stopped node(s); logs kept in $dir/logs"
}

case "$cmd" in
  start)
    if [[ -z "$bin" ]]; then
      if [[ -x /usr/sbin/nats-server ]]; then bin=/usr/sbin/nats-server
      else bin="$(command -v nats-server || true)"; fi
    fi
    [[ -n "$bin" && -x "$bin" ]] || die "nats-server binary not found (apt-get install nats-server, or --bin PATH)"
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    for i in 1 2 3; do
      if is_ours "$(pid_of $i)"; then die "nats-$i already runs (pid $(pid_of $i)); run '$0 stop --dir $dir' first"; fi
    done
    for p in "${CP[@]}" "${RP[@]}" "${HP[@]}"; do
      port_busy "$p" && die "port $p on 127.0.0.1 is already in use; pick others with --client-ports/--cluster-ports/--http-ports"
    done
    mkdir -p "$dir/pids" "$dir/logs"
    rm -rf "$dir/store"
    mkdir -p "$dir/store"
    printf 'SAVED_CLIENT_PORTS=%s\nSAVED_CLUSTER_PORTS=%s\nSAVED_HTTP_PORTS=%s\n' \
      "$client_ports" "$cluster_ports" "$http_ports" >"$dir/ports.env"
    routes="nats://127.0.0.1:${RP[0]},nats://127.0.0.1:${RP[1]},nats://127.0.0.1:${RP[2]}"
    echo "starting $("$bin" --version) x3 in $dir"
    for i in 0 1 2; do
      n=$((i + 1))
      # Command-line flags override the ports and store_dir of local/nats-N.conf.
      nohup "$bin" -c "$conf_dir/nats-$n.conf" \
        -a 127.0.0.1 -p "${CP[$i]}" -m "${HP[$i]}" \
        --cluster "nats://127.0.0.1:${RP[$i]}" --routes "$routes" \
        -js -sd "$dir/store/nats-$n" \
        -l "$dir/logs/nats-$n.log" \
        </dev/null >>"$dir/logs/nats-$n.out" 2>&1 &
      echo $! >"$dir/pids/nats-$n.pid"
    done
    deadline=$((SECONDS + timeout))
    until check_cluster quiet; do
      for i in 1 2 3; do
        if ! is_ours "$(pid_of $i)"; then
          echo "nats-$i exited during start; last log lines:" >&2
          tail -n 20 "$dir/logs/nats-$i.log" "$dir/logs/nats-$i.out" >&2 2>/dev/null || true
          do_stop >&2
          exit 1
        fi
      done
      if [[ $SECONDS -ge $deadline ]]; then
        echo "cluster not formed within ${timeout}s:" >&2
        check_cluster >&2 || true
        do_stop >&2
        exit 1
      fi
      sleep 0.5
    done
    check_cluster
    echo "pids: $(cat "$dir"/pids/*.pid | tr '\n' ' ')"
    echo "NATS_URL=nats://127.0.0.1:${CP[0]},nats://127.0.0.1:${CP[1]},nats://127.0.0.1:${CP[2]}"
    echo "NATS_STREAM_REPLICAS=3"
    ;;
  check)
    check_cluster
    ;;
  smoke)
    check_cluster
    smoke_stream
    ;;
  status)
    for i in 1 2 3; do
      pid="$(pid_of $i)"
      if is_ours "$pid"; then echo "nats-$i: running (pid $pid, client ${CP[$((i - 1))]}, http ${HP[$((i - 1))]})"
      else echo "nats-$i: not running"; fi
    done
    ;;
  stop)
    do_stop
    ;;
  ""|-h|--help|help)
    usage
    ;;
  *)
    die "unknown command '$cmd' (start|check|smoke|status|stop)"
    ;;
esac
