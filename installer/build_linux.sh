#!/usr/bin/env bash
# Build the offline Linux packages of DefectSeek: a .deb and a .tar.gz for the studio
# and for the line runtime, into dist/.
#
# Usage: installer/build_linux.sh [--only runtime|studio] [--skip-venv-setup] [--package-only]
#
# Each build uses its own virtual environment: build/venv-runtime (runtime extra, no
# torch) and build/venv-studio (train and gui extras, torch==2.13.0 CPU). Override
# them with DEFECTSEEK_RUNTIME_VENV and DEFECTSEEK_STUDIO_VENV (existing environments
# are reused and only topped up). The script stops when torch is installed in the
# runtime environment or when torch files appear in the runtime package.
# TORCH_PIP_ARGS passes extra pip arguments for torch, for example
# "--index-url https://download.pytorch.org/whl/cpu" where PyPI would give the CUDA build.
# --package-only skips the environments and PyInstaller and packs the one-folder builds
# already in dist/ again. DEFECTSEEK_DIST and DEFECTSEEK_BUILD_DIR move dist/ and build/.
# The runtime environment gets its NumPy and OpenCV from installer/build_runtime_wheels.sh,
# which builds them from source: NumPy without OpenBLAS (26 MB less), OpenCV with only the
# modules the runtime uses and a small FFmpeg (about 100 MB less). The wheels are cached under
# ~/.cache/defectseek, and the first OpenCV build takes about 25 minutes of CPU time.
# DEFECTSEEK_RUNTIME_WHEELS=numpy builds only NumPy and keeps PyPI's OpenCV, and =pypi keeps
# PyPI's wheels for both; either runtime is larger than 300 MB.
# installer/trim_build.py strips the shared libraries of both folders. In a runtime built from
# PyPI's OpenCV wheel it also replaces that wheel's OpenBLAS with the reference BLAS and LAPACK,
# unless DEFECTSEEK_OPENCV_BLAS=bundled.
#
# Needs: python3 (3.11 or newer, built with a shared libpython), dpkg-deb, tar, objdump, strip,
# and the CJK font for the studio (apt-get install fonts-wqy-microhei). The runtime's wheels
# need gcc, g++, make, nasm, pkg-config, xz-utils and a deb-src line for apt-get source, as
# installer/build_runtime_wheels.sh describes. A runtime with PyPI's OpenCV needs the reference
# BLAS instead (apt-get install libblas3 liblapack3 libgfortran5).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PYTHON="${PYTHON:-python3}"
PYINSTALLER_SPEC="pyinstaller==6.22.3"
TORCH_SPEC="torch==2.13.0"
BUILD_DIR="${DEFECTSEEK_BUILD_DIR:-$REPO_ROOT/build}"
RUNTIME_VENV="${DEFECTSEEK_RUNTIME_VENV:-$BUILD_DIR/venv-runtime}"
# The line runtime: engines and the station (PLC signals, deploy service). Camera
# vendor SDKs (the station-cameras extra) are not bundled by default.
RUNTIME_EXTRAS="${DEFECTSEEK_RUNTIME_EXTRAS:-runtime,station}"
STUDIO_VENV="${DEFECTSEEK_STUDIO_VENV:-$BUILD_DIR/venv-studio}"
DIST="${DEFECTSEEK_DIST:-$REPO_ROOT/dist}"
WORK="$BUILD_DIR/pyinstaller"
OPENCV_BLAS="${DEFECTSEEK_OPENCV_BLAS:-reference}"
RUNTIME_WHEELS="${DEFECTSEEK_RUNTIME_WHEELS:-numpy,opencv}"
ONLY=""
SETUP_VENVS=1
PACKAGE_ONLY=0
# The programs each .deb links into /usr/bin, as "link name:program in the folder".
# The two lists share no name, so both packages install side by side: the studio's
# full inspect command is defectseek-inspect, and inspect is the runtime's.
RUNTIME_COMMANDS=(inspect:inspect defectseek-station:defectseek-station)
STUDIO_COMMANDS=(defectseek-studio:defectseek-studio defectseek-inspect:inspect)

while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) ONLY="$2"; shift 2 ;;
        --skip-venv-setup) SETUP_VENVS=0; shift ;;
        --package-only) PACKAGE_ONLY=1; shift ;;
        -h|--help) sed -n "2,30p" "$0"; exit 0 ;;
        *) echo "error: unknown option $1; see --help" >&2; exit 2 ;;
    esac
done
if [[ -n "$ONLY" && "$ONLY" != runtime && "$ONLY" != studio ]]; then
    echo "error: --only must be runtime or studio, not $ONLY" >&2
    exit 2
fi
case "$RUNTIME_WHEELS" in
    numpy | opencv | numpy,opencv | opencv,numpy | pypi) ;;
    *) echo "error: DEFECTSEEK_RUNTIME_WHEELS must be numpy, numpy,opencv or pypi, not $RUNTIME_WHEELS" >&2; exit 2 ;;
esac
if [[ "$OPENCV_BLAS" != reference && "$OPENCV_BLAS" != bundled ]]; then
    echo "error: DEFECTSEEK_OPENCV_BLAS must be reference or bundled, not $OPENCV_BLAS" >&2
    exit 2
fi

log() { echo "[build_linux] $*" >&2; }

require_tool() {
    command -v "$1" >/dev/null || { echo "error: $1 is missing; install it with: apt-get install $2" >&2; exit 1; }
}

# zstd packs a studio .deb several times faster than xz on two cores. A dpkg-deb that
# writes zstd means a Debian 12 or Ubuntu 21.10+ build machine, and the packages need
# that machine's glibc, so the systems that can run them ship a dpkg that reads zstd.
# Set DEB_COMPRESSION=xz for a target whose dpkg is older.
# The help text is captured first because "grep -q" in a pipeline can end dpkg-deb with
# SIGPIPE, which pipefail turns into a false "no zstd".
if [[ "$(dpkg-deb --help 2>/dev/null)" == *zstd* ]]; then
    DEB_COMPRESSION="${DEB_COMPRESSION:-zstd}"
else
    DEB_COMPRESSION="${DEB_COMPRESSION:-xz}"
fi
VERSION="$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
MACHINE="$(uname -m)"

setup_venv() {  # setup_venv DIR EXTRAS
    local venv="$1" extras="$2"
    if [[ ! -x "$venv/bin/python" ]]; then
        log "creating $venv"
        "$PYTHON" -m venv "$venv"
    fi
    if [[ "$SETUP_VENVS" == 1 ]]; then
        if [[ "$extras" == *train* ]]; then
            # torch first, so that the train extra keeps this CPU build.
            # shellcheck disable=SC2086
            "$venv/bin/pip" install -q "$TORCH_SPEC" ${TORCH_PIP_ARGS:-}
        fi
        "$venv/bin/pip" install -q -e ".[$extras]" "$PYINSTALLER_SPEC"
    fi
}

install_runtime_wheels() {  # install_runtime_wheels VENV: swap PyPI's wheels for the source builds
    local venv="$1" listing
    local wheels=() names=()
    IFS=, read -r -a names <<< "$RUNTIME_WHEELS"
    log "building or reusing the runtime's wheels: ${names[*]} (the first build takes minutes to an hour)"
    # An assignment, unlike a process substitution, stops the script when the build fails.
    listing="$(bash installer/build_runtime_wheels.sh "$venv/bin/python" "${names[@]}")"
    mapfile -t wheels <<< "$listing"
    "$venv/bin/pip" install -q --force-reinstall --no-deps "${wheels[@]}"
}

check_no_torch() {  # check_no_torch VENV_PYTHON
    if "$1" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'; then
        echo "error: torch is installed in $RUNTIME_VENV; the runtime build needs an environment without it" >&2
        exit 1
    fi
}

run_pyinstaller() {  # run_pyinstaller VENV SPEC
    log "pyinstaller $2 (this takes minutes)"
    "$1/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK/$(basename "$2" .spec)" "$2"
}

make_tarball() {  # make_tarball NAME
    local name="$1" stage="$BUILD_DIR/stage-tar/$1-$VERSION"
    rm -rf "$BUILD_DIR/stage-tar"
    mkdir -p "$stage"
    cp -a "$DIST/$name/." "$stage/"
    cp installer/linux/README-tarball.txt "$stage/README.txt"
    tar -C "$BUILD_DIR/stage-tar" -czf "$DIST/$name-$VERSION-linux-$MACHINE.tar.gz" "$name-$VERSION"
    rm -rf "$BUILD_DIR/stage-tar"
    log "wrote $DIST/$name-$VERSION-linux-$MACHINE.tar.gz"
}

glibc_floor() {  # glibc_floor FOLDER: the newest GLIBC symbol version any bundled binary needs, or nothing
    # objdump fails on files that are not ELF, and grep finds nothing in a folder without
    # binaries. Neither may stop the build, because the caller falls back to a default.
    find "$1" -type f \( -name "*.so*" -o -perm -u+x \) -print0 \
        | { xargs -0 objdump -T 2>/dev/null || true; } | { grep -o "GLIBC_[0-9.]*" || true; } \
        | sed "s/GLIBC_//" | sort -V -u | tail -1
}

# The station's systemd unit, rewritten to start the packaged program instead of a venv's.
STATION_UNIT=installer/systemd/defectseek-station.service
STATION_UNIT_VENV_PROGRAM=/opt/defectseek/venv/bin/defectseek-station

add_station_service() {  # add_station_service STAGE_ROOT NAME: unit, maintainer scripts and example config
    local root="$1" name="$2"
    local program="/opt/$name/defectseek-station"
    if ! grep -q "$STATION_UNIT_VENV_PROGRAM" "$STATION_UNIT"; then
        echo "error: $STATION_UNIT no longer starts $STATION_UNIT_VENV_PROGRAM; update add_station_service" >&2
        exit 1
    fi
    mkdir -p "$root/lib/systemd/system"
    sed -e "s|$STATION_UNIT_VENV_PROGRAM|$program|g" \
        -e "s|^# Install: .*|# Installed by the $name package; its postinst enables it.|" \
        "$STATION_UNIT" > "$root/lib/systemd/system/defectseek-station.service"
    chmod 644 "$root/lib/systemd/system/defectseek-station.service"
    install -D -m 644 installer/linux/station.toml.example "$root/usr/share/doc/$name/station.toml.example"
    local script
    for script in postinst prerm postrm; do
        install -m 755 "installer/linux/runtime/$script" "$root/DEBIAN/$script"
    done
}

make_deb() {  # make_deb NAME CONTROL_TEMPLATE LINK:PROGRAM...
    local name="$1" template="$2"
    shift 2
    local root="$BUILD_DIR/stage-deb/$name"
    rm -rf "$BUILD_DIR/stage-deb"
    mkdir -p "$root/DEBIAN" "$root/opt/$name" "$root/usr/bin"
    cp -a "$DIST/$name/." "$root/opt/$name/"
    local command
    for command in "$@"; do
        if [[ -x "$DIST/$name/${command#*:}" ]]; then
            ln -s "/opt/$name/${command#*:}" "$root/usr/bin/${command%%:*}"
        else
            log "$name has no ${command#*:}; /usr/bin/${command%%:*} is left out"
        fi
    done
    if [[ -f "installer/linux/$name.desktop" ]]; then
        install -D -m 644 "installer/linux/$name.desktop" "$root/usr/share/applications/$name.desktop"
    fi
    if [[ "$name" == defectseek-runtime ]]; then
        add_station_service "$root" "$name"
    fi
    local size_kb
    size_kb="$(du -sk "$root/opt" | cut -f1)"
    # The bundled libpython and libstdc++ come from the build machine, so the package
    # needs that machine's glibc or newer: build on the oldest distribution you support.
    local glibc
    glibc="$(glibc_floor "$root/opt/$name")"
    sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE_KB@/$size_kb/" -e "s/@GLIBC@/${glibc:-2.28}/" \
        "$template" > "$root/DEBIAN/control"
    dpkg-deb --root-owner-group "-Z$DEB_COMPRESSION" --build "$root" "$DIST/${name}_${VERSION}_${ARCH}.deb" >/dev/null
    rm -rf "$BUILD_DIR/stage-deb"
    log "wrote $DIST/${name}_${VERSION}_${ARCH}.deb"
}

report_sizes() {  # report_sizes NAME: unpacked size, archive sizes and the ten largest parts
    local name="$1" report="$DIST/$1-sizes.txt"
    {
        echo "package: $name $VERSION ($ARCH)"
        echo "unpacked_mb: $(du -sm "$DIST/$name" | cut -f1)"
        echo "tar_gz_mb: $(du -sm "$DIST/$name-$VERSION-linux-$MACHINE.tar.gz" | cut -f1)"
        echo "deb_mb: $(du -sm "$DIST/${name}_${VERSION}_${ARCH}.deb" | cut -f1)"
        echo "largest parts (MB):"
        # sed reads to the end, where head would stop early and end sort with SIGPIPE,
        # which pipefail turns into a failed build.
        du -sm "$DIST/$name/_internal/"* | sort -rn | sed -n "1,10s|$DIST/$name/_internal/|  |p"
    } > "$report"
    cat "$report" >&2
}

trim_folder() {  # trim_folder FOLDER [OPTION...]: see installer/trim_build.py
    log "trimming $1"
    "$PYTHON" installer/trim_build.py "$@" >&2
}

require_built() {  # require_built NAME: --package-only needs an earlier PyInstaller build
    if [[ ! -d "$DIST/$1/_internal" ]]; then
        echo "error: $DIST/$1 is not a PyInstaller build; run without --package-only first" >&2
        exit 1
    fi
}

build_runtime() {
    if [[ "$PACKAGE_ONLY" == 1 ]]; then
        require_built defectseek-runtime
    else
        setup_venv "$RUNTIME_VENV" "$RUNTIME_EXTRAS"
        if [[ "$SETUP_VENVS" == 1 && "$RUNTIME_WHEELS" != pypi ]]; then
            install_runtime_wheels "$RUNTIME_VENV"
        fi
        check_no_torch "$RUNTIME_VENV/bin/python"
        log "preparing the self-test bundle with the studio environment"
        "$STUDIO_PYTHON" installer/prepare_selftest.py
        run_pyinstaller "$RUNTIME_VENV" installer/runtime.spec
        local options=()
        [[ "$OPENCV_BLAS" == bundled ]] && options+=(--keep-opencv-blas)
        trim_folder "$DIST/defectseek-runtime" "${options[@]}"
    fi
    # find stops at the first match by itself: "find | grep -q" could end find with SIGPIPE
    # and so, under pipefail, miss the very files it looks for.
    if [[ -n "$(find "$DIST/defectseek-runtime" -iname "*torch*" -print -quit)" ]]; then
        echo "error: torch files ended up in $DIST/defectseek-runtime" >&2
        exit 1
    fi
    make_tarball defectseek-runtime
    make_deb defectseek-runtime installer/linux/runtime.control "${RUNTIME_COMMANDS[@]}"
    report_sizes defectseek-runtime
}

build_studio() {
    if [[ "$PACKAGE_ONLY" == 1 ]]; then
        require_built defectseek-studio
    else
        run_pyinstaller "$STUDIO_VENV" installer/studio.spec
        # The studio has no size goal, and its training libraries (albumentations) call
        # OpenCV's matrix routines, so it keeps OpenBLAS at full speed.
        trim_folder "$DIST/defectseek-studio" --keep-opencv-blas
    fi
    make_tarball defectseek-studio
    make_deb defectseek-studio installer/linux/studio.control "${STUDIO_COMMANDS[@]}"
    report_sizes defectseek-studio
}

require_tool dpkg-deb dpkg
require_tool tar tar
require_tool objdump binutils
mkdir -p "$DIST"
if [[ "$PACKAGE_ONLY" == 0 ]]; then
    require_tool strip binutils
    # The studio environment also trains the runtime's reference bundle, so it is set up in both cases.
    setup_venv "$STUDIO_VENV" "train,gui"
    STUDIO_PYTHON="$STUDIO_VENV/bin/python"
fi
if [[ -z "$ONLY" || "$ONLY" == runtime ]]; then
    build_runtime
fi
if [[ -z "$ONLY" || "$ONLY" == studio ]]; then
    build_studio
fi
log "done; packages are in $DIST"
