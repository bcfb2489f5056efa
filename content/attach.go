package content

import (
	"archive/zip"
	"bytes"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/mailscore/mailscore"
)

// Limits of attachment inspection.
const (
	maxZipEntries    = 4096    // entries of one archive looked at
	maxNestedZipSize = 8 << 20 // an archive inside an archive is opened up to this size
	maxZipInflate    = 16 << 20
	maxNotes         = 3
)

// Extensions that Windows (or macOS, or a JVM) runs or installs when opened,
// and disk images and shortcuts that carry such files.
var executableExt = map[string]bool{
	"exe": true, "com": true, "scr": true, "pif": true, "bat": true, "cmd": true, "cpl": true,
	"msi": true, "msp": true, "mst": true, "msc": true, "vbs": true, "vbe": true, "js": true,
	"jse": true, "wsf": true, "wsh": true, "wsc": true, "hta": true, "ps1": true, "psm1": true,
	"psd1": true, "reg": true, "dll": true, "sys": true, "ocx": true, "jar": true, "lnk": true,
	"url": true, "scf": true, "inf": true, "chm": true, "hlp": true, "gadget": true, "application": true,
	"appref-ms": true, "appx": true, "msix": true, "appxbundle": true, "apk": true, "app": true,
	"pkg": true, "dmg": true, "iso": true, "img": true, "vhd": true, "vhdx": true, "xll": true,
	"sct": true, "shs": true, "ws": true, "vb": true, "cab": true, "library-ms": true,
	"settingcontent-ms": true, "elf": true, "run": true, "command": true,
	"one": true, "diagcab": true, "website": true,
}

// Office formats that carry macros by design.
var macroExt = map[string]bool{
	"docm": true, "dotm": true, "xlsm": true, "xltm": true, "xlam": true, "xlsb": true,
	"pptm": true, "potm": true, "ppam": true, "ppsm": true, "sldm": true, "xla": true,
}

// Legacy Office formats (OLE compound files) that may hold macros.
var oleExt = map[string]bool{"doc": true, "dot": true, "xls": true, "xlt": true, "ppt": true, "pps": true, "pot": true}

// Archives that can be listed (zip family) or that hide their contents.
var zipExt = map[string]bool{"zip": true, "docx": true, "xlsx": true, "pptx": true, "docm": true, "xlsm": true, "pptm": true, "dotm": true, "xltm": true}
var opaqueArchiveExt = map[string]bool{"rar": true, "7z": true, "ace": true, "arj": true, "lzh": true, "lha": true, "gz": true, "tgz": true, "bz2": true, "xz": true, "z": true, "tar": true, "r00": true, "r01": true}

// Extensions a double extension borrows to look harmless.
var decoyExt = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "xls": true, "xlsx": true, "ppt": true, "pptx": true,
	"txt": true, "rtf": true, "jpg": true, "jpeg": true, "png": true, "gif": true, "bmp": true,
	"tif": true, "tiff": true, "mp3": true, "mp4": true, "avi": true, "wav": true, "htm": true,
	"html": true, "zip": true, "csv": true, "odt": true, "invoice": true,
}

var executableTypes = map[string]bool{
	"application/x-msdownload": true, "application/x-elf": true, "application/x-mach-binary": true,
	"application/x-ms-shortcut": true, "application/x-iso9660-image": true,
	"application/x-msdos-program": true, "application/x-dosexec": true, "application/x-executable": true,
	"application/hta": true, "application/x-ms-installer": true, "application/x-msi": true,
	"application/vnd.microsoft.portable-executable": true, "application/java-archive": true,
}

// attachFindings collects dangerous attachments.
type attachFindings struct {
	executable, macro, archiveExe, encrypted, doubleExt []string
	archiveExeN, encryptedN                             int
	inflated                                            int
}

func note(list []string, s string) []string {
	if len(list) < maxNotes {
		return append(list, s)
	}
	return list
}

// extOf returns the lower-case final extension, ignoring the trailing dots
// and spaces Windows ignores too.
func extOf(name string) string {
	name = strings.TrimRight(name, ". \t")
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

// baseName strips any folder from a filename (both separators).
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// disguised reports how a filename hides its real extension: a decoy
// extension before an executable one, a long run of spaces before the
// extension, or a right-to-left override that reverses what is shown.
func disguised(name string) string {
	if strings.ContainsAny(name, "\u202e\u202d\u200f\u2066\u2067\u2068") {
		return "contains a bidirectional control character that disguises its extension"
	}
	ext := extOf(name)
	if !executableExt[ext] {
		return ""
	}
	stem := strings.TrimRight(name, ". \t")
	stem = stem[:len(stem)-len(ext)-1]
	if strings.HasSuffix(stem, "     ") || strings.HasSuffix(stem, "_____") {
		return "pads its name to push the executable extension out of view"
	}
	stem = strings.TrimRight(stem, " _")
	if prev := extOf(stem); decoyExt[prev] {
		return "has the double extension ." + prev + "." + ext
	}
	return ""
}

// inspectAttachments looks at every attachment of the message.
func inspectAttachments(mi *mailscore.MIME) attachFindings {
	var f attachFindings
	for i := range mi.Parts {
		p := &mi.Parts[i]
		if !p.IsAttachment() {
			continue
		}
		name := baseName(p.Filename)
		label := name
		if label == "" {
			label = "part " + p.Path + " (" + p.ContentType + ")"
		} else {
			label = quoteName(label)
		}
		ext := extOf(name)
		switch {
		case executableExt[ext]:
			f.executable = note(f.executable, label)
		case executableTypes[p.SniffedType]:
			f.executable = note(f.executable, label+", which is really "+p.SniffedType)
		case executableTypes[p.ContentType]:
			f.executable = note(f.executable, label+" ("+p.ContentType+")")
		}
		if d := disguised(name); d != "" {
			f.doubleExt = note(f.doubleExt, label+" "+d)
		}
		if macroExt[ext] {
			f.macro = note(f.macro, label+" (a macro-enabled Office format)")
		}
		switch {
		case p.SniffedType == "application/zip" || zipExt[ext]:
			f.inspectZip(p.Body, label, 0)
		case p.SniffedType == "application/x-ole-storage" || oleExt[ext]:
			if hasVBA(p.Body) {
				f.macro = note(f.macro, label+" (holds a VBA macro project)")
			}
		case opaqueArchiveExt[ext] || p.SniffedType == "application/vnd.rar" || p.SniffedType == "application/x-7z-compressed":
			// Contents not listed: RAR and 7-Zip listing needs their own
			// parsers. The classifier still sees the extension.
		}
	}
	return f
}

func quoteName(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return `"` + s + `"`
}

// vbaMarker is the name of the VBA project stream in an OLE compound file
// (UTF-16LE, as directory entries are stored).
var vbaMarker = []byte("_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T\x00")

// hasVBA reports whether an OLE compound file holds a VBA project.
func hasVBA(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) && bytes.Contains(b, vbaMarker)
}

// inspectZip lists a zip archive's central directory (nothing is
// decompressed except a small archive nested one level down) and notes
// executables, disguised names, macro projects and encryption.
func (f *attachFindings) inspectZip(b []byte, label string, level int) {
	if len(b) < 22 {
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return
	}
	for i, e := range zr.File {
		if i >= maxZipEntries {
			break
		}
		name := baseName(e.Name)
		ext := extOf(name)
		inner := label + " holds " + quoteName(name)
		if e.Flags&1 != 0 {
			f.encryptedN++
			if len(f.encrypted) == 0 || f.encrypted[len(f.encrypted)-1] != label {
				f.encrypted = note(f.encrypted, label)
			}
		}
		if executableExt[ext] {
			f.archiveExeN++
			f.archiveExe = note(f.archiveExe, inner)
		}
		if d := disguised(name); d != "" {
			f.doubleExt = note(f.doubleExt, inner+", which "+d)
		}
		if strings.EqualFold(path.Base(e.Name), "vbaProject.bin") {
			f.macro = note(f.macro, label+" (holds a VBA macro project)")
		}
		if level == 0 && (zipExt[ext] || macroExt[ext]) && e.Flags&1 == 0 &&
			e.UncompressedSize64 <= maxNestedZipSize && f.inflated+int(e.UncompressedSize64) <= maxZipInflate {
			f.inspectNested(e, inner)
		}
	}
}

func (f *attachFindings) inspectNested(e *zip.File, label string) {
	rc, err := e.Open()
	if err != nil {
		return
	}
	defer rc.Close()
	// The declared size may lie; never read more than the limit.
	data, err := io.ReadAll(io.LimitReader(rc, maxNestedZipSize+1))
	f.inflated += len(data)
	if err != nil || len(data) > maxNestedZipSize {
		return
	}
	f.inspectZip(data, label, 1)
}
