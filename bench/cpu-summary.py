"""Per-process CPU seconds between the first and last sample of bench/cpu-sample.sh output."""
import sys,collections
first={};last={};name={}
t0=None;t1=None
for l in open(sys.argv[1]):
    p=l.split(None,3)
    if len(p)<4: continue
    ts,pid,c,n=float(p[0]),p[1],int(p[2]),p[3].strip()
    t0=ts if t0 is None else min(t0,ts); t1=ts if t1 is None else max(t1,ts)
    first.setdefault(pid,c); last[pid]=c; name[pid]=n
g=collections.defaultdict(float)
for pid in last:
    n=name[pid]
    k='bench (load generator + in-process simulator)' if ('bench-bin' in n or 'examples/bench' in n) else 'postgres backends' if 'postgres' in n else 'nats-server' if 'nats-server' in n else 'service '+pid if 'employes-sync' in n else n
    g[k]+=(last[pid]-first[pid])/100
print(f"window {t1-t0:.0f} s")
for k,v in sorted(g.items(),key=lambda x:-x[1]): print(f"{k}: {v:.1f} CPU s")
