; post.asm - power-on self test: bring the board to the state DOS-era
; software and boot loaders expect, then hand over to INT 19h.
;
; POST codes (port 80h):
;   01 reset vector reached        02 stack, A20, PCI IDE decode
;   03 IVT/BDA/EBDA initialised    04 PICs programmed
;   05 PIT programmed              06 COM1 initialised
;   07 video (INT 10h mode 3)      08 keyboard controller
;   09 memory size / E820 map      0A ATA disk detection
;   0B local APIC virtual wire     0C banner printed
;   0D calling INT 19h
;   20 INT 19h: loading boot sector  21 jumping to boot sector
;   22 jumping to an El Torito boot image
;   EE INT 18h: no bootable device

post_entry:
        cli
        cld
        POST_CODE 0x01
        xor ax, ax
        mov ss, ax
        mov sp, POST_STACK
        mov ds, ax
        ; CMOS shutdown status: software that resets the CPU to leave
        ; protected mode asks to be resumed through the pointer at 40:67.
        mov al, 0x0F
        call cmos_read
        mov bl, al
        mov ax, 0x000F
        call cmos_write
        cmp bl, 0x05
        je .resume_eoi
        cmp bl, 0x0A
        je .resume
        jmp .cold
.resume_eoi:
        call kbc_flush
        mov al, 0x20
        out 0xA0, al
        out 0x20, al
.resume:
        jmp far [BDA_SEG*16 + BDA_RESETPTR]

.cold:
        POST_CODE 0x02
        in al, 0x92                     ; A20 on (fast A20 port)
        or al, 0x02
        and al, 0xFE
        out 0x92, al
        call pci_ide_enable
        call pci_irq_setup

        POST_CODE 0x03
        ; clear the IVT, BDA and low RAM up to the POST stack
        xor ax, ax
        mov es, ax
        xor di, di
        mov cx, POST_STACK/2
        rep stosw
        mov ax, EBDA_SEG
        mov es, ax
        xor di, di
        xor ax, ax
        mov cx, 512
        rep stosw
        mov byte [es:EB_SIZEKB], 1
        ; every vector -> iret, then the ones we implement
        xor ax, ax
        mov es, ax
        xor di, di
        mov cx, 256
.ivt:   mov word [es:di], default_iret
        mov word [es:di+2], BIOS_SEG
        add di, 4
        loop .ivt
        mov si, vector_table
.vec:   mov bl, [cs:si]
        cmp bl, 0xFF
        je .vdone
        movzx di, bl
        shl di, 2
        mov ax, [cs:si+1]
        mov [es:di], ax
        add si, 3
        jmp .vec
.vdone:
        ; BIOS data area
        mov ax, BDA_SEG
        mov ds, ax
        mov word [BDA_COM1], COM1
        mov word [BDA_EBDA], EBDA_SEG
        mov word [BDA_EQUIP], 0x0222    ; FPU, 80x25 colour, one serial port
        mov word [BDA_MEMKB], 639       ; 640 KiB less the 1 KiB EBDA
        mov word [BDA_KBHEAD], BDA_KBBUF
        mov word [BDA_KBTAIL], BDA_KBBUF
        mov word [BDA_KBSTART], BDA_KBBUF
        mov word [BDA_KBEND], BDA_KBBUF+32
        mov byte [BDA_KBF3], 0x10       ; 101/102-key keyboard

        POST_CODE 0x04
        ; 8259s: edge triggered, cascaded, 8086 mode.  Master vectors
        ; 08h-0Fh, slave 70h-77h on master input 2.
        mov al, 0x11
        out 0x20, al
        out 0xA0, al
        mov al, 0x08
        out 0x21, al
        mov al, 0x70
        out 0xA1, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x02
        out 0xA1, al
        mov al, 0x01
        out 0x21, al
        out 0xA1, al
        mov al, 0xFF                    ; all masked until set up
        out 0x21, al
        out 0xA1, al

        POST_CODE 0x05
        ; PIT channel 0: mode 3, divisor 65536 -> 18.2065 Hz
        mov al, 0x36
        out 0x43, al
        xor al, al
        out 0x40, al
        out 0x40, al

        POST_CODE 0x06
        call serial_init

        POST_CODE 0x07
        mov ax, 0x0003
        int 0x10

        POST_CODE 0x08
        call kbd_init

        POST_CODE 0x09
        call get_ebda_ds
        call mem_detect
        call time_init

        call lapic_virtual_wire
        ; timer, keyboard and cascade interrupts on
        mov al, 0xF8
        out 0x21, al
        mov al, 0xFF
        out 0xA1, al
        sti

        PRINT `Capsule BIOS 0.1\r\n`
        PRINT `Memory: 640 KiB base, `
        call get_ebda_ds
        mov eax, [EB_EXTKB]
        call print_dec
        PRINT ` KiB extended\r\n`

        POST_CODE 0x0A
        call get_ebda_ds
        call ata_detect
        mov al, [EB_NDRV]
        push ds
        push BDA_SEG
        pop ds
        mov [BDA_HDCOUNT], al
        pop ds
        call disk_tables
        call disk_banner
        call cd_banner

        POST_CODE 0x0C
        POST_CODE 0x0D
        int 0x19
        jmp $

; lapic_virtual_wire: CPUs with an on-chip local APIC come out of reset
; with the APIC enabled but its LINT0/LINT1 inputs masked, which would
; keep the 8259's interrupts from ever reaching the core.  As the MP
; specification expects of the BIOS, put the APIC in "virtual wire" mode:
; LINT0 = ExtINT (the 8259), LINT1 = NMI.  The registers sit at 4 GiB -
; 20 MiB, so the writes are done from a brief protected-mode excursion
; with a flat data segment.  Skipped when there is no CPUID or no APIC.
lapic_virtual_wire:
        POST_CODE 0x0B
        pushfd
        pop eax
        mov ecx, eax
        xor eax, 0x00200000             ; can EFLAGS.ID be toggled?
        push eax
        popfd
        pushfd
        pop eax
        push ecx
        popfd
        xor eax, ecx
        jz .done
        mov eax, 1
        cpu 586                         ; only reached when CPUID exists
        cpuid
        test edx, 1 << 9                ; APIC on chip
        jz .done
        mov ecx, 0x1B                   ; IA32_APIC_BASE
        rdmsr
        cpu 386
        test eax, 1 << 11               ; globally enabled?
        jz .done
        and eax, 0xFFFFF000
        mov ebx, eax
        pushf
        cli
        lgdt [cs:flat_gdtr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp 0x0008:.pm
.pm:    mov ax, 0x0010
        mov fs, ax
        mov dword [fs:ebx+0x0F0], 0x000001FF  ; SVR: APIC on, spurious vector FFh
        mov dword [fs:ebx+0x350], 0x00000700  ; LVT LINT0: ExtINT
        mov dword [fs:ebx+0x360], 0x00000400  ; LVT LINT1: NMI
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp BIOS_SEG:.rm
.rm:    xor ax, ax
        mov fs, ax
        popf
.done:  ret

; GDT for POST's protected-mode excursions: 08h = this ROM segment as
; 16-bit code, 10h = flat 4 GiB data.  Accessed bits are preset so the CPU
; never needs to write to the (read-only) descriptors.
        align 8
flat_gdt:
        dq 0
        dw 0xFFFF, 0x0000
        db 0x0F, 0x9B, 0x00, 0x00       ; base F0000, limit FFFF, code
        dw 0xFFFF, 0x0000
        db 0x00, 0x93, 0x8F, 0x00       ; base 0, limit 4 GiB, data
flat_gdtr:
        dw 3*8-1
        dd BIOS_SEG*16 + flat_gdt

; pci_ide_enable: make sure the PIIX3 IDE function (bus 0, device 1,
; function 1) decodes the legacy ports: command register I/O + bus master
; enables, and the IDE decode enable bit (15) of both IDETIM registers.
; Done through configuration mechanism #1; harmless if there is no PCI.
pci_ide_enable:
        mov eax, 0x80000900             ; bus 0, dev 1, fn 1, reg 00h
        mov dx, 0xCF8
        out dx, eax
        mov dx, 0xCFC
        in eax, dx
        cmp ax, 0x8086                  ; Intel vendor ID?
        jne .done
        mov eax, 0x80000904
        mov dx, 0xCF8
        out dx, eax
        mov dx, 0xCFC
        in ax, dx
        or ax, 0x0005
        out dx, ax
        mov eax, 0x80000940
        mov dx, 0xCF8
        out dx, eax
        mov dx, 0xCFC
        in eax, dx
        or eax, 0x80008000
        out dx, eax
.done:  ret

; mem_detect: RAM size from CMOS as the board firmware interface defines
; it: 34h/35h = 64 KiB units above 16 MiB (if any), else 30h/31h = KiB
; above 1 MiB.  Builds the E820 map.  DS = EBDA.
mem_detect:
        mov al, 0x34
        call cmos_read
        mov bl, al
        mov al, 0x35
        call cmos_read
        mov bh, al
        test bx, bx
        jz .small
        cmp bx, 0xFEFF                  ; stay below the top-of-4G ROM alias
        jbe .b
        mov bx, 0xFEFF
.b:     movzx eax, bx
        shl eax, 16
        add eax, 0x1000000
        jmp .have
.small: mov al, 0x30
        call cmos_read
        mov bl, al
        mov al, 0x31
        call cmos_read
        mov bh, al
        movzx eax, bx
        shl eax, 10
        add eax, 0x100000
.have:  mov [EB_RAMTOP], eax
        sub eax, 0x100000
        shr eax, 10
        mov [EB_EXTKB], eax
        ; E820 map
        mov byte [EB_E820N], 0
        xor eax, eax
        mov ecx, 0x9FC00
        mov dl, 1
        call e820_add                   ; conventional memory
        mov eax, 0x9FC00
        mov ecx, 0x400
        mov dl, 2
        call e820_add                   ; EBDA
        mov eax, 0xF0000
        mov ecx, 0x10000
        mov dl, 2
        call e820_add                   ; BIOS ROM
        mov eax, 0x100000
        mov ecx, [EB_RAMTOP]
        sub ecx, eax
        jz .nohigh
        mov dl, 1
        call e820_add                   ; extended memory
.nohigh:
        mov eax, 0xFFFF0000
        mov ecx, 0x10000
        mov dl, 2
        call e820_add                   ; ROM alias below 4 GiB
        ret

; e820_add: EAX = base, ECX = length, DL = type.  DS = EBDA.
e820_add:
        push bx
        movzx bx, byte [EB_E820N]
        cmp bl, E820_MAX
        jae .full
        imul bx, bx, 20
        add bx, EB_E820
        mov [bx+0], eax
        mov dword [bx+4], 0
        mov [bx+8], ecx
        mov dword [bx+12], 0
        movzx edx, dl
        mov [bx+16], edx
        inc byte [EB_E820N]
.full:  pop bx
        ret

; time_init: start the BIOS tick counter at the RTC's time of day so
; INT 1Ah/00h agrees with the clock.  ticks = seconds * 1193180 / 65536.
time_init:
        call rtc_wait_update
        mov al, 0x04
        call cmos_read_bcd
        call bcd2bin
        movzx eax, al
        imul eax, eax, 60
        mov ebx, eax
        mov al, 0x02
        call cmos_read_bcd
        call bcd2bin
        movzx eax, al
        add eax, ebx
        imul eax, eax, 60
        mov ebx, eax
        mov al, 0x00
        call cmos_read_bcd
        call bcd2bin
        movzx eax, al
        add eax, ebx
        cmp eax, 86400
        jb .ok
        xor eax, eax
.ok:    mov ecx, 1193180
        mul ecx
        shrd eax, edx, 16
        push ds
        push BDA_SEG
        pop ds
        mov [BDA_TICKS], eax
        pop ds
        ret

; disk_tables: INT 41h/46h fixed disk parameter tables for the first two
; disks (DOS-era software reads geometry there).  DS = EBDA.
disk_tables:
        push es
        xor ax, ax
        mov es, ax
        cmp byte [EB_NDRV], 1
        jb .done
        mov bx, EB_DRV
        mov di, EB_FDPT0
        call build_fdpt
        mov word [es:0x41*4], EB_FDPT0
        mov [es:0x41*4+2], ds
        cmp byte [EB_NDRV], 2
        jb .done
        mov bx, EB_DRV+DRV_SIZE
        mov di, EB_FDPT1
        call build_fdpt
        mov word [es:0x46*4], EB_FDPT1
        mov [es:0x46*4+2], ds
.done:  pop es
        ret

; disk_banner: one line per detected disk.  DS = EBDA.
disk_banner:
        movzx cx, byte [EB_NDRV]
        test cx, cx
        jnz .some
        PRINT `No hard disks found\r\n`
        ret
.some:  mov bx, EB_DRV
        mov dl, 0x80
.one:   PRINT `Disk `
        mov al, dl
        call print_hex8
        PRINT `h: `
        lea si, [bx+D_MODEL]
.m:     lodsb
        test al, al
        jz .me
        call putc
        jmp .m
.me:    PRINT ` (`
        mov eax, [bx+D_SECTORS]
        mov esi, [bx+D_SECTORS+4]
        shrd eax, esi, 11               ; sectors -> MiB
        call print_dec
        PRINT ` MiB, `
        cmp byte [bx+D_CHAN], 0
        jne .sec
        PRINT `primary `
        jmp .ms
.sec:   PRINT `secondary `
.ms:    cmp byte [bx+D_SLAVE], 0
        jne .sl
        PRINT `master`
        jmp .lba
.sl:    PRINT `slave`
.lba:   test byte [bx+D_FLAGS], DF_LBA48
        jz .nl
        PRINT `, LBA48`
.nl:    PRINT `)\r\n`
        add bx, DRV_SIZE
        inc dl
        dec cx
        jnz .one
        ret

; cd_banner: the CD-ROM drive, if one was found.  DS = EBDA.
cd_banner:
        cmp byte [EB_CD+D_PRESENT], 0
        je .none
        PRINT `CD-ROM E0h: `
        mov si, EB_CD+D_MODEL
.m:     lodsb
        test al, al
        jz .me
        call putc
        jmp .m
.me:    PRINT ` (ATAPI, `
        cmp byte [EB_CD+D_CHAN], 0
        jne .sec
        PRINT `primary `
        jmp .ms
.sec:   PRINT `secondary `
.ms:    cmp byte [EB_CD+D_SLAVE], 0
        jne .sl
        PRINT `master)\r\n`
        ret
.sl:    PRINT `slave)\r\n`
.none:  ret

; (vector number, handler offset) pairs; all handlers live in F000.
vector_table:
        db 0x08
        dw irq0_handler
        db 0x09
        dw irq1_handler
%assign v 0x0A
%rep 6
        db v
        dw irq_master_default
%assign v v+1
%endrep
%assign v 0x70
%rep 8
        db v
        dw irq_slave_default
%assign v v+1
%endrep
        db 0x10
        dw int10_handler
        db 0x11
        dw int11_handler
        db 0x12
        dw int12_handler
        db 0x13
        dw int13_handler
        db 0x14
        dw int14_handler
        db 0x15
        dw int15_handler
        db 0x16
        dw int16_handler
        db 0x18
        dw int18_handler
        db 0x19
        dw int19_handler
        db 0x1A
        dw int1a_handler
        db 0x1D
        dw video_param_table
        db 0x1E
        dw floppy_param_table
        db 0x1F
        dw font_zero8 + 128*8
        db 0x43
        dw font_zero8
        db 0xFF
