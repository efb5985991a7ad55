#!/usr/bin/env bash
# deepscope's two entry points for a fresh Debian machine:
#   scripts/dev.sh run [ARGS...]   install what is missing, build (release), open the explorer on the bundled sample
#   scripts/dev.sh test            install what is missing, build and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime libraries, then what the tests drive: the ffmpeg CLI (reference decoder), tmux (the explorer
# as a person sees it), ncurses-term (terminfo entries such as tmux-256color and xterm-direct), libsixel-bin
# (sixel2png decodes our sixel output).
PACKAGES=(pkg-config libncursesw5-dev libopenblas-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
          libpng-dev ffmpeg tmux ncurses-term libsixel-bin)

install_missing() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "deepscope: installing ${missing[*]}" >&2
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_swift() {
    command -v swift >/dev/null 2>&1 && return 0
    echo "deepscope: the Swift toolchain (6.x) is not on PATH; install it from swift.org and run again" >&2
    exit 1
}

case "${1:-run}" in
    run)
        shift || true
        install_missing; need_swift
        swift build -c release --product deepscope
        exec .build/release/deepscope "$@"
        ;;
    test)
        install_missing; need_swift
        swift build --build-tests
        swift test --skip-build
        ;;
    *)
        echo "usage: scripts/dev.sh run [ARGS...] | scripts/dev.sh test" >&2; exit 2 ;;
esac
