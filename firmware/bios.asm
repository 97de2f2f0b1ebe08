; bios.asm - Capsule PC BIOS.
;
; A 64 KiB ROM image for the Capsule PC (i440FX/PIIX3-style board):
; the image is the whole F000 segment, so code offsets are segment
; offsets (org 0).  Execution starts at the reset vector F000:FFF0.
; Build: nasm -f bin -I src/ -o build/bios.bin bios.asm  (see build.sh)

        cpu 386
        bits 16
        org 0

%include "defs.inc"

rom_start:
%include "post.asm"
%include "util.asm"
%include "video.asm"
%include "kbd.asm"
%include "disk.asm"
%include "cdrom.asm"
%include "pci.asm"
%include "system.asm"

code_end:
; ---- fixed-position tables ----
; Positions follow the original PC/AT ROM map so software that uses the
; traditional addresses directly finds something sensible there.

        times 0xC000-($-$$) db 0
; No font is shipped: character-generator queries (INT 10h AX=1130h,
; INT 1Fh, INT 43h) get these all-zero tables.
font_zero16:
        times 256*16 db 0
font_zero8:
        times 256*8 db 0
; INT 1Dh video parameter table: not used by this BIOS, kept zero.
video_param_table:
        times 0x58 db 0

        times 0xE6F5-($-$$) db 0
; INT 15h AH=C0h system configuration table
config_table:
        dw 8                            ; bytes that follow
        db 0xFC                         ; model: AT class
        db 0x01                         ; submodel
        db 0x00                         ; BIOS revision
        db 0x74                         ; 2nd PIC, RTC, INT 15h/4Fh hook, EBDA
        db 0x40                         ; INT 16h/09h supported
        db 0, 0, 0

        times 0xEFC7-($-$$) db 0
; INT 1Eh diskette parameters (1.44 MB values); there is no floppy
; controller, but DOS boot code copies this table unconditionally.
floppy_param_table:
        db 0xAF, 0x02, 0x25, 0x02, 0x12, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08

        times 0xFFF0-($-$$) db 0
reset_vector:                           ; F000:FFF0
        jmp BIOS_SEG:post_entry
        db '11/25/26'                   ; F000:FFF5 BIOS date
        db 0
        db 0xFC                         ; F000:FFFE model byte (AT)
        db 0
