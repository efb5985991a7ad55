#!/usr/bin/env bash
# Decode + RGB throughput of deepscope's FFmpegVideo against the ffmpeg CLI on one generated file.
#
#   scripts/bench_decode.sh [VIDEO] [RUNS]
#
# VIDEO defaults to a 640x360, 600-frame testsrc2 H.264 file generated in /tmp (never committed). Each command
# runs RUNS times (default 3) and the best time counts. Ratios are throughput ratios (>1.0 means deepscope is
# faster); they are given for wall-clock time and for CPU time (user+sys), the latter being steadier on a
# shared machine. Set DEEPSCOPE to a built binary to skip `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."

video=${1:-/tmp/deepscope-bench-640x360.mp4}
runs=${2:-3}
binary=${DEEPSCOPE:-.build/debug/deepscope}

if [[ ! -f "$video" ]]; then
    echo "generating $video" >&2
    ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=30 -frames:v 600 \
        -c:v libx264 -pix_fmt yuv420p "$video"
fi
if [[ -z "${DEEPSCOPE:-}" ]]; then
    # Media is compiled with -O even in debug builds (Package.swift), so a debug binary measures optimised code.
    swift build --product deepscope >&2
fi
frames=$("$binary" info "$video" --json | sed -n 's/.*"frameCount" : \([0-9]*\).*/\1/p')

timing=$(mktemp)
trap 'rm -f "$timing"' EXIT

# best_of LABEL COMMAND...: prints "LABEL wall cpu" with the smallest wall and CPU seconds over the runs.
best_of() {
    local label=$1; shift
    local best_wall="" best_cpu=""
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S" -o "$timing" "$@" > /dev/null
        read -r wall user sys < "$timing"
        cpu=$(echo "$user + $sys" | bc -l)
        if [[ -z "$best_wall" ]] || (( $(echo "$wall < $best_wall" | bc -l) )); then best_wall=$wall; fi
        if [[ -z "$best_cpu" ]] || (( $(echo "$cpu < $best_cpu" | bc -l) )); then best_cpu=$cpu; fi
    done
    echo "$label $best_wall $best_cpu"
}

results=$(
    best_of ffmpeg-null        ffmpeg -v error -nostdin -threads 1 -i "$video" -f null -
    best_of ffmpeg-rgb24       ffmpeg -v error -nostdin -threads 1 -i "$video" -pix_fmt rgb24 -f null -
    best_of deepscope-1thread  "$binary" frame "$video" --bench --threads 1
    best_of deepscope-auto     "$binary" frame "$video" --bench
    best_of deepscope-norgb-1t "$binary" frame "$video" --bench --bench-no-rgb --threads 1
)

echo "file $video, $frames frames, best of $runs, $(nproc) cores"
printf '%-20s %8s %8s %10s %10s\n' command wall_s cpu_s wall_fps cpu_fps
echo "$results" | while read -r label wall cpu; do
    printf '%-20s %8.3f %8.3f %10.1f %10.1f\n' "$label" "$wall" "$cpu" \
        "$(echo "$frames / $wall" | bc -l)" "$(echo "$frames / $cpu" | bc -l)"
done
base=$(echo "$results" | awk '$1 == "ffmpeg-null" { print $2, $3 }')
rgb=$(echo "$results" | awk '$1 == "ffmpeg-rgb24" { print $2, $3 }')
echo "$results" | awk -v base="$base" -v rgb="$rgb" '
    BEGIN { split(base, b, " "); split(rgb, r, " ") }
    $1 ~ /^deepscope/ {
        printf "%-20s vs ffmpeg -f null: %.2fx wall, %.2fx cpu;  vs ffmpeg -pix_fmt rgb24: %.2fx wall, %.2fx cpu\n",
            $1, b[1] / $2, b[2] / $3, r[1] / $2, r[2] / $3
    }'
