#!/usr/bin/env bash
# CPU time of every process of a bench run, sampled every 2 s (usage: bench/cpu-sample.sh OUT &; then
# python3 bench/cpu-summary.py OUT): the bench process, the services, nats-server and the Postgres backends
# connected to es_bench databases. Used for the `companies` CPU split in bench/ANALYSIS.md.
out=$1
while true; do
  ts=$(date +%s.%N)
  for p in $(pgrep -f 'bench-bin|examples/bench|target/release/employes-sync|nats-server'); do
    s=$(cat /proc/$p/stat 2>/dev/null) || continue
    c=$(echo "$s" | sed 's/.*) //' | awk '{print $12+$13}')
    n=$(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-60)
    echo "$ts $p $c $n"
  done
  for p in $(psql -Atc "select pid from pg_stat_activity where datname like 'es_bench%'" "${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" 2>/dev/null); do
    s=$(cat /proc/$p/stat 2>/dev/null) || continue
    c=$(echo "$s" | sed 's/.*) //' | awk '{print $12+$13}')
    echo "$ts $p $c postgres-backend"
  done
  sleep 2
done >> "$out"
