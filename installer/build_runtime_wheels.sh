#!/usr/bin/env bash
# Build the line runtime's own OpenCV and NumPy wheels, which are smaller than PyPI's:
# - OpenCV (opencv-python-headless) from its sdist with only the modules the runtime calls:
#   core, geometry, imgproc, imgcodecs, videoio and the Python binding. It links to a small
#   LGPL FFmpeg, built from Debian's source package with the demuxers, decoders and protocols
#   that video files and rtsp:// streams need. PyPI's wheel carries every OpenCV module, an
#   FFmpeg with AV1 and VP9 codecs, and OpenBLAS.
# - NumPy from its sdist without BLAS or LAPACK, so NumPy uses its own loops and its bundled
#   lapack_lite. PyPI's wheel carries OpenBLAS (24 MB), which the runtime's post-processing
#   (thresholds, masks, resizing) never calls.
#
# Usage: installer/build_runtime_wheels.sh PYTHON WHEEL...
#
# PYTHON is the interpreter of the environment that the wheels are for: each wheel is built
# for the version of opencv-python-headless and numpy installed there. WHEEL is numpy or
# opencv. The script prints the wheels' paths, one a line. Builds are cached under
# DEFECTSEEK_CACHE (default ~/.cache/defectseek): FFmpeg in ffmpeg-<hash>/, OpenCV's build
# tree in opencv-build-<hash>/ (kept after a failure, so a rerun continues where it stopped),
# and the wheels in wheels/<name>-<hash>/. The hash covers the version and every build option,
# and a second run only prints the paths. Delete the cache folders to rebuild. On two cores
# shared with other jobs, NumPy took 10 minutes of CPU time and OpenCV 24, both under nice.
#
# Needs: gcc, g++, make, nasm, pkg-config, xz-utils, and FFmpeg's source package, which
# apt-get downloads when a deb-src line is configured (add "deb-src" to the Types of the
# Debian entry in /etc/apt/sources.list.d/debian.sources and run apt-get update).
set -euo pipefail

PYTHON="${1:?usage: installer/build_runtime_wheels.sh PYTHON WHEEL... (WHEEL: numpy or opencv)}"
shift
WHEELS=("$@")
CACHE="${DEFECTSEEK_CACHE:-$HOME/.cache/defectseek}"
FFMPEG_SOURCE_PACKAGE="ffmpeg"
JOBS="${DEFECTSEEK_BUILD_JOBS:-$(nproc)}"

log() { echo "[build_runtime_wheels] $*" >&2; }

# FFmpeg without its programs, filters and devices. Left in: the containers of video files
# (MP4/MOV, AVI, Matroska, MPEG-TS, raw H.264/HEVC/MJPEG), RTSP with RTP over UDP and TCP,
# multipart MJPEG over HTTP, and the decoders of the codecs that industrial cameras and
# recorders send. --disable-autodetect keeps out every system library (VA-API, X11, TLS),
# so the FFmpeg libraries link to libc and libm alone. No --enable-gpl: the build is LGPL.
FFMPEG_CONFIGURE_ARGS=(
    --disable-static --enable-shared --enable-pic
    --disable-programs --disable-doc --disable-debug --disable-autodetect
    --disable-avdevice --disable-avfilter --disable-postproc --disable-swresample
    --disable-everything
    --enable-protocol=file,pipe,tcp,udp,rtp,http
    --enable-demuxer=mov,avi,matroska,mpegts,h264,hevc,mjpeg,mpjpeg,m4v,rtsp,rtp,sdp
    --enable-decoder=h264,hevc,mjpeg,mpeg4,rawvideo
    --enable-parser=h264,hevc,mjpeg,mpeg4video
    --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb
)
# OpenCV with the modules that engine/, labeling/ and the station call. IPP, OpenCL and
# LAPACK are left out: the runtime's resize, contour and colour-map calls run on OpenCV's
# own SIMD code, and nothing in it solves linear systems. V4L2 stays for USB cameras.
OPENCV_CMAKE_ARGS=(
    -DBUILD_LIST=core,geometry,imgproc,imgcodecs,videoio,python3
    -DWITH_FFMPEG=ON -DWITH_V4L=ON -DWITH_GSTREAMER=OFF
    -DWITH_IPP=OFF -DWITH_OPENCL=OFF -DWITH_LAPACK=OFF -DWITH_EIGEN=OFF -DWITH_ITT=OFF
    -DWITH_OPENEXR=OFF -DBUILD_OPENEXR=OFF -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF -DWITH_AVIF=OFF
    -DWITH_PROTOBUF=OFF -DWITH_TBB=OFF -DWITH_1394=OFF
    -DWITH_PNG=ON -DWITH_JPEG=ON -DWITH_TIFF=ON -DWITH_WEBP=ON
    -DBUILD_PNG=ON -DBUILD_JPEG=ON -DBUILD_TIFF=ON -DBUILD_WEBP=ON -DBUILD_ZLIB=ON
    -DOPENCV_FFMPEG_ENABLE_LIBAVDEVICE=OFF
    -DENABLE_PRECOMPILED_HEADERS=OFF
)
NUMPY_SETUP_ARGS=(-Dblas=none -Dlapack=none -Dallow-noblas=true)

require_tool() {
    command -v "$1" >/dev/null || { echo "error: $1 is missing; install it with: apt-get install $2" >&2; exit 1; }
}

installed_version() {  # installed_version DISTRIBUTION: its version in PYTHON's environment
    "$PYTHON" -c 'import sys; from importlib.metadata import version; print(version(sys.argv[1]))' "$1" || {
        echo "error: $1 is not installed in $PYTHON's environment; install the runtime extra first" >&2
        exit 1
    }
}

hash_of() {  # hash_of TEXT...: a short hash of the build inputs and the Python version
    printf '%s\n' "$@" "$("$PYTHON" -c 'import sys; print(sys.version_info[:2])')" | sha256sum | cut -c1-12
}

find_wheel() {  # find_wheel FOLDER PREFIX: the cached wheel's path, or nothing
    find "$1" -name "$2-*.whl" -print -quit 2>/dev/null || true
}

fetch_ffmpeg_source() {  # fetch_ffmpeg_source DIR: unpack Debian's FFmpeg source into DIR/src
    local dir="$1" tarball
    mkdir -p "$dir/download"
    if ! (cd "$dir/download" && apt-get source --download-only "$FFMPEG_SOURCE_PACKAGE" >&2); then
        echo "error: apt-get could not download FFmpeg's source package; add a deb-src line" \
            "(see the header of $0) and run apt-get update" >&2
        exit 1
    fi
    tarball="$(find "$dir/download" -name "${FFMPEG_SOURCE_PACKAGE}_*.orig.tar.*" ! -name "*.asc" -print -quit)"
    rm -rf "$dir/src"
    mkdir -p "$dir/src"
    tar -xf "$tarball" -C "$dir/src" --strip-components=1
}

build_ffmpeg() {  # build_ffmpeg PREFIX: configure, build and install FFmpeg's shared libraries
    local prefix="$1" work="$CACHE/ffmpeg-build"
    if [[ -f "$prefix/lib/pkgconfig/libavcodec.pc" ]]; then
        log "reusing FFmpeg in $prefix"
        return
    fi
    rm -rf "$work"
    fetch_ffmpeg_source "$work"
    log "building FFmpeg into $prefix"
    (
        cd "$work/src"
        nice -n 10 ./configure --prefix="$prefix" "${FFMPEG_CONFIGURE_ARGS[@]}" >&2
        nice -n 10 make -j"$JOBS" >&2
        make install >&2
        # FFmpeg's LGPL text goes next to the libraries, for the package's license folder.
        install -D -m 644 COPYING.LGPLv2.1 "$prefix/share/licenses/ffmpeg/COPYING.LGPLv2.1"
        install -m 644 LICENSE.md "$prefix/share/licenses/ffmpeg/LICENSE.md"
    )
    rm -rf "$work"
}

# opencv-python's packaging step requires the files of OpenCV's typing stubs (the py.typed
# marker and the cv2.typing package), and the stub generator fails when the features module
# is left out (it cannot resolve Feature2D). The runtime needs no stubs, and cv2 imports
# without cv2.typing, so the marker becomes optional and cv2.typing is left out. Each entry
# is "line as shipped|line patched".
OPENCV_PACKAGING_PATCHES=(
    'opencv_python_install("" GLOB "${_loader}/py.typed")|opencv_python_install("" OPTIONAL GLOB "${_loader}/py.typed")'
    'foreach(_subpackage mat_wrapper misc utils typing)|foreach(_subpackage mat_wrapper misc utils)'
)

patch_opencv_packaging() {  # patch_opencv_packaging FILE: apply OPENCV_PACKAGING_PATCHES, each once
    local file="$1" entry shipped patched
    for entry in "${OPENCV_PACKAGING_PATCHES[@]}"; do
        shipped="${entry%%|*}"
        patched="${entry#*|}"
        if grep -qxF "$patched" "$file"; then
            continue
        fi
        if ! grep -qxF "$shipped" "$file"; then
            echo "error: $file has no line '$shipped'; update OPENCV_PACKAGING_PATCHES in $0" >&2
            exit 1
        fi
        SHIPPED="$shipped" PATCHED="$patched" "$PYTHON" - "$file" <<'PATCH'
import os
import sys

path = sys.argv[1]
with open(path, encoding="utf-8") as stream:
    lines = stream.read().split("\n")
lines = [os.environ["PATCHED"] if line == os.environ["SHIPPED"] else line for line in lines]
with open(path, "w", encoding="utf-8") as stream:
    stream.write("\n".join(lines))
PATCH
    done
}

unpack_opencv_source() {  # unpack_opencv_source SPEC DIR: download the sdist into DIR/src and patch it
    local spec="$1" dir="$2" sdist
    log "downloading the source of $spec"
    mkdir -p "$dir/download"
    "$PYTHON" -m pip download -q --no-deps --no-binary opencv-python-headless -d "$dir/download" "$spec" >&2
    sdist="$(find "$dir/download" -name "opencv_python_headless-*.tar.gz" -print -quit)"
    rm -rf "$dir/src"
    mkdir -p "$dir/src"
    tar -xzf "$sdist" -C "$dir/src" --strip-components=1
}

build_opencv() {  # build_opencv SPEC FFMPEG_PREFIX BUILD_DIR WHEEL_DIR: build the wheel from the sdist
    local spec="$1" ffmpeg_prefix="$2" build_dir="$3" wheel_dir="$4"
    if [[ ! -f "$build_dir/src/setup.py" ]]; then
        unpack_opencv_source "$spec" "$build_dir"
    fi
    # Also patches a source tree that an earlier version of this script unpacked.
    patch_opencv_packaging "$build_dir/src/cmake/package/install_package.cmake"
    log "building $spec in $build_dir/src (this takes about 25 minutes of CPU time)"
    mkdir -p "$wheel_dir"
    # pip builds a local folder in place, so scikit-build's tree (_skbuild) stays in the cache
    # and a rerun after a failure compiles only what is missing. pkg-config finds FFmpeg at
    # build time. The RUNPATH lets cv2 load it from the cache in the build environment, and
    # lets PyInstaller find it and copy it into the package.
    PKG_CONFIG_PATH="$ffmpeg_prefix/lib/pkgconfig" \
        CMAKE_ARGS="${OPENCV_CMAKE_ARGS[*]} -DCMAKE_INSTALL_RPATH=$ffmpeg_prefix/lib -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON" \
        ENABLE_HEADLESS=1 ENABLE_CONTRIB=0 MAKEFLAGS="-j$JOBS" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
        nice -n 10 "$PYTHON" -m pip wheel --no-deps --wheel-dir "$wheel_dir" "$build_dir/src" >&2
}

build_numpy() {  # build_numpy SPEC WHEEL_DIR
    local spec="$1" wheel_dir="$2" argument setup_args=()
    log "building $spec without BLAS (this takes about 10 minutes on two cores)"
    mkdir -p "$wheel_dir"
    for argument in "${NUMPY_SETUP_ARGS[@]}"; do
        setup_args+=("-Csetup-args=$argument")
    done
    nice -n 10 "$PYTHON" -m pip wheel --no-deps --no-binary numpy --wheel-dir "$wheel_dir" \
        "${setup_args[@]}" "$spec" >&2
}

opencv_wheel() {  # print the OpenCV wheel's path, building FFmpeg and OpenCV when not cached
    local spec hash ffmpeg_prefix wheel_dir wheel
    spec="opencv-python-headless==$(installed_version opencv-python-headless)"
    hash="$(hash_of "$spec" "$FFMPEG_SOURCE_PACKAGE" "${FFMPEG_CONFIGURE_ARGS[@]}" "${OPENCV_CMAKE_ARGS[@]}")"
    ffmpeg_prefix="$CACHE/ffmpeg-$hash"
    wheel_dir="$CACHE/wheels/opencv-$hash"
    wheel="$(find_wheel "$wheel_dir" opencv_python_headless)"
    if [[ -z "$wheel" ]]; then
        build_ffmpeg "$ffmpeg_prefix"
        build_opencv "$spec" "$ffmpeg_prefix" "$CACHE/opencv-build-$hash" "$wheel_dir"
        wheel="$(find_wheel "$wheel_dir" opencv_python_headless)"
        [[ -z "$wheel" ]] || rm -rf "$CACHE/opencv-build-$hash"
    fi
    [[ -n "$wheel" ]] || { echo "error: pip built no OpenCV wheel into $wheel_dir" >&2; exit 1; }
    echo "$wheel"
}

numpy_wheel() {  # print the NumPy wheel's path, building it when not cached
    local spec wheel_dir wheel
    spec="numpy==$(installed_version numpy)"
    wheel_dir="$CACHE/wheels/numpy-$(hash_of "$spec" "${NUMPY_SETUP_ARGS[@]}")"
    wheel="$(find_wheel "$wheel_dir" numpy)"
    if [[ -z "$wheel" ]]; then
        build_numpy "$spec" "$wheel_dir"
        wheel="$(find_wheel "$wheel_dir" numpy)"
    fi
    [[ -n "$wheel" ]] || { echo "error: pip built no NumPy wheel into $wheel_dir" >&2; exit 1; }
    echo "$wheel"
}

if [[ ${#WHEELS[@]} -eq 0 ]]; then
    echo "error: name at least one wheel to build: numpy or opencv" >&2
    exit 2
fi
for name in "${WHEELS[@]}"; do
    case "$name" in
        numpy) numpy_wheel ;;
        opencv)
            require_tool apt-get apt
            require_tool nasm nasm
            require_tool pkg-config pkg-config
            require_tool make make
            require_tool g++ g++
            opencv_wheel
            ;;
        *) echo "error: unknown wheel $name; use numpy or opencv" >&2; exit 2 ;;
    esac
done
