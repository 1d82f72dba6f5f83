"""PyInstaller runtime hook: let fontconfig find the bundled CJK font on Linux.

It points ``FONTCONFIG_FILE`` at the packaged ``fonts/fonts.conf``, which includes
the system configuration and adds the bundled font folder. A ``FONTCONFIG_FILE``
that the user has set is left alone.
"""


def _use_bundled_fontconfig() -> None:
    import os
    import sys
    from pathlib import Path

    if not sys.platform.startswith("linux") or "FONTCONFIG_FILE" in os.environ:
        return
    config = Path(getattr(sys, "_MEIPASS", "")) / "fonts" / "fonts.conf"
    if config.is_file():
        os.environ["FONTCONFIG_FILE"] = str(config)


_use_bundled_fontconfig()
del _use_bundled_fontconfig
