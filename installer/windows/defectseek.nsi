; NSIS script of the DefectSeek Windows installers, one script for both packages.
;
; Compile it after PyInstaller has built the one-folder program:
;   makensis -DPRODUCT=defectseek-studio -DVERSION=0.1.0 -DSOURCE_DIR=dist\defectseek-studio ^
;            -DOUTFILE=dist\defectseek-studio-0.1.0-windows-x64-setup.exe installer\windows\defectseek.nsi
; PRODUCT is defectseek-studio or defectseek-runtime. The installer carries the
; whole program folder, so it installs with the network unplugged; /S installs silently.

Unicode true
SetCompressor /SOLID lzma
RequestExecutionLevel admin

!ifndef PRODUCT
  !error "define PRODUCT: -DPRODUCT=defectseek-studio or -DPRODUCT=defectseek-runtime"
!endif
!ifndef VERSION
  !error "define VERSION, for example -DVERSION=0.1.0"
!endif
!ifndef SOURCE_DIR
  !error "define SOURCE_DIR: the PyInstaller output folder, for example -DSOURCE_DIR=dist\defectseek-studio"
!endif
!ifndef OUTFILE
  !define OUTFILE "${PRODUCT}-${VERSION}-windows-x64-setup.exe"
!endif

!if "${PRODUCT}" == "defectseek-studio"
  !define DISPLAY_NAME "DefectSeek Studio"
  !define MAIN_EXE "defectseek-studio.exe"
!else if "${PRODUCT}" == "defectseek-runtime"
  !define DISPLAY_NAME "DefectSeek Runtime"
  !define MAIN_EXE "inspect.exe"
!else
  !error "unknown PRODUCT ${PRODUCT}: use defectseek-studio or defectseek-runtime"
!endif

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"

!include "MUI2.nsh"
!include "x64.nsh"

Name "${DISPLAY_NAME} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\DefectSeek\${PRODUCT}"
InstallDirRegKey HKLM "${UNINSTALL_KEY}" "InstallLocation"

!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${DISPLAY_NAME} needs 64-bit Windows."
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Section "Program" SecProgram
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; A previous version's files are removed first, so no stale library outlives an update.
  RMDir /r "$INSTDIR\_internal"
  File /r "${SOURCE_DIR}\*"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\DefectSeek"
  !if "${PRODUCT}" == "defectseek-studio"
    CreateShortcut "$SMPROGRAMS\DefectSeek\${DISPLAY_NAME}.lnk" "$INSTDIR\${MAIN_EXE}"
    CreateShortcut "$DESKTOP\${DISPLAY_NAME}.lnk" "$INSTDIR\${MAIN_EXE}"
  !else
    ; The runtime's programs are console programs: the shortcut opens a prompt in the install folder.
    CreateShortcut "$SMPROGRAMS\DefectSeek\${DISPLAY_NAME} prompt.lnk" "$SYSDIR\cmd.exe" '/k cd /d "$INSTDIR"'
  !endif

  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${DISPLAY_NAME}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "DefectSeek"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${MAIN_EXE}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\DefectSeek\${DISPLAY_NAME}.lnk"
  Delete "$SMPROGRAMS\DefectSeek\${DISPLAY_NAME} prompt.lnk"
  Delete "$DESKTOP\${DISPLAY_NAME}.lnk"
  RMDir "$SMPROGRAMS\DefectSeek"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\*.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  RMDir "$PROGRAMFILES64\DefectSeek"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
SectionEnd
