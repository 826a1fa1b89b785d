#!/usr/bin/env bash
# qdpexec times like trtexec: min, max, mean, median and --percentile of latency, enqueue time,
# the compute split, throughput over --infStreams, --exportTimes and --exportProfile as trtexec
# writes them. Figures are checked for shape and consistency, never for speed.
# Usage: qdpexec_timing_test.sh BIN_DIR
set -uo pipefail
bin=$1
source "$(dirname "$0")/qdpexec_models.sh"
program=$qdpexec
source "$(dirname "$0")/expect.sh"
load=(--loadEngine "$work/dyn.engine" --plugins "$plugins" --duration 0 --warmUp 0)

expect summary.latency 0 "Latency: min = [0-9.]+ ms, max = [0-9.]+ ms, mean = [0-9.]+ ms, median = [0-9.]+ ms, percentile\(99%\) = [0-9.]+ ms" -- "${load[@]}" --iterations 5
expect summary.percentile 0 "Latency: .* percentile\(90%\) = " -- "${load[@]}" --iterations 5 --percentile 90
expect summary.enqueue 0 "Enqueue Time: min = .* percentile\(99%\) = " -- "${load[@]}" --iterations 5
expect summary.compute 0 "Compute Time: min = " -- "${load[@]}" --iterations 5
expect summary.cpu_says_compute_is_enqueue 0 "On the cpu the enqueue is the compute .* H2D and D2H are 0" -- "${load[@]}" --iterations 5
expect summary.throughput 0 "Throughput: [0-9.]+ qps \(5 iterations in [0-9.]+ ms\)" -- "${load[@]}" --iterations 5
expect summary.streams 0 "Device: cpu, 2 stream\(s\)" -- "${load[@]}" --iterations 5 --infStreams 2
expect summary.no_data_transfers 0 "Latency: min = " -- "${load[@]}" --iterations 5 --noDataTransfers
expect summary.walltime 0 "Total Host Walltime: [0-9.]+ s" -- "${load[@]}" --iterations 5

# --exportTimes: one trtexec record per timed iteration.
expect export_times.write 0 "Times of 7 iterations written to $work/times.json" -- "${load[@]}" --iterations 7 --exportTimes "$work/times.json"
check export_times.json $py -c "
import json
t = json.load(open('$work/times.json'))
assert isinstance(t, list) and len(t) == 7, len(t)
keys = ['startH2DMs', 'endH2DMs', 'startComputeMs', 'endComputeMs', 'startD2HMs', 'endD2HMs',
        'h2dMs', 'computeMs', 'd2hMs', 'latencyMs', 'enqueueMs', 'startEnqMs', 'endEnqMs']
close = lambda a, b: abs(a - b) <= 1e-9 + 1e-9 * abs(b)
for r in t:
    for k in keys: assert isinstance(r[k], (int, float)) and r[k] >= 0, (k, r)
    assert r['startH2DMs'] <= r['endH2DMs'] <= r['startComputeMs'] <= r['endComputeMs'] <= r['startD2HMs'] <= r['endD2HMs'], r
    assert close(r['latencyMs'], r['h2dMs'] + r['computeMs'] + r['d2hMs']), r
    assert close(r['computeMs'], r['endComputeMs'] - r['startComputeMs']), r
    # on the cpu: no transfers, and the compute is the enqueue
    assert r['h2dMs'] == 0 and r['d2hMs'] == 0 and close(r['computeMs'], r['enqueueMs']), r
for a, b in zip(t, t[1:]): assert a['startComputeMs'] <= b['startComputeMs'], 'out of order'"
# Long enough for both threads to run some: which one takes an iteration is up to them.
expect export_times.streams 0 "Times of [0-9]+ iterations written" -- --loadEngine "$work/dyn.engine" --plugins "$plugins" --warmUp 0 --iterations 8 --infStreams 2 --duration 0.2 --exportTimes "$work/times2.json"
check export_times.streams.json $py -c "
import json
t = json.load(open('$work/times2.json'))
assert len(t) >= 8 and {r['stream'] for r in t} == {0, 1}, [r['stream'] for r in t]"
check export_times.no_partial_file bash -c "! ls '$work' | grep -q '\.tmp'"

# --exportProfile: [{"count": N}, {"name", "timeMs", "averageMs", "medianMs", "percentage"}...],
# and qdp's averageHostMs (the host's time enqueuing the layer).
expect export_profile.write 0 "Per-layer profile written to $work/profile.json" -- "${load[@]}" --iterations 4 --exportProfile "$work/profile.json" --exportLayerInfo "$work/layers.json"
check export_profile.json $py -c "
import json
p = json.load(open('$work/profile.json')); layers = json.load(open('$work/layers.json'))['layers']
assert p[0] == {'count': 4}, p[0]
assert [l['name'] for l in p[1:]] == [l['name'] for l in layers], (p, layers)
for l in p[1:]:
    assert set(l) == {'name', 'timeMs', 'averageMs', 'medianMs', 'percentage', 'averageHostMs'}, l
    assert l['averageHostMs'] > 0, l
    assert l['timeMs'] >= 0 and abs(l['averageMs'] - l['timeMs'] / 4) < 1e-9 and l['medianMs'] >= 0, l
assert abs(sum(l['percentage'] for l in p[1:]) - 100) < 1e-6 or all(l['timeMs'] == 0 for l in p[1:])"
expect dump_profile.title 0 "Per-layer profile \(3 runs on the cpu" -- "${load[@]}" --iterations 3 --dumpProfile
expect dump_profile.layer 0 "^\[I\] +pad +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$" -- "${load[@]}" --iterations 3 --dumpProfile

finish
