; pci.asm - PCI interrupt routing for the i440FX/PIIX3 board.
;
; The four PCI interrupt links PIRQA-D of the PIIX3 (bus 0, device 1,
; function 0, registers 60h-63h) are routed to ISA IRQs 10 and 11, which
; are switched to level-triggered in the ELCR (ports 4D0h/4D1h).  On this
; board the INTx pin of the device in slot S reaches link
; (pin - 1 + S - 1) mod 4.  Every function's Interrupt Line register is
; filled in accordingly, and a $PIR table (PCI IRQ Routing Table 1.0)
; describes the wiring to operating systems.

PIRQ_IRQ_A      equ 10
PIRQ_IRQ_B      equ 11
PIRQ_IRQ_C      equ 10
PIRQ_IRQ_D      equ 11
PIRQ_MASK       equ (1 << 10) | (1 << 11)

; pci_cfg_addr: EAX = 80000000h | BX (bus/dev/fn) << 8 | CL (register)
pci_cfg_addr:
        movzx eax, bx
        shl eax, 8
        mov al, cl
        and al, 0xFC
        or eax, 0x80000000
        mov dx, 0xCF8
        out dx, eax
        mov dx, 0xCFC
        mov al, cl
        and al, 3
        add dl, al                      ; byte lane within the dword
        ret

; pci_read8 / pci_write8: BX = devfn (bus 0), CL = register, AL = data
pci_read8:
        push dx
        push eax
        call pci_cfg_addr
        pop eax
        in al, dx
        pop dx
        ret
pci_write8:
        push dx
        push eax
        call pci_cfg_addr
        pop eax
        out dx, al
        pop dx
        ret
pci_read16:                             ; CL even -> AX
        push dx
        call pci_cfg_addr
        in ax, dx
        pop dx
        ret

; pci_irq_setup: only on a PIIX3 (8086:7000 at 00:01.0).
pci_irq_setup:
        pusha
        mov bx, 0x0008                  ; device 1, function 0
        xor cl, cl
        call pci_read16
        cmp ax, 0x8086
        jne .done
        mov cl, 2
        call pci_read16
        cmp ax, 0x7000
        jne .done
        mov cl, 0x60
        mov al, PIRQ_IRQ_A
        call pci_write8
        inc cl
        mov al, PIRQ_IRQ_B
        call pci_write8
        inc cl
        mov al, PIRQ_IRQ_C
        call pci_write8
        inc cl
        mov al, PIRQ_IRQ_D
        call pci_write8
        mov dx, 0x4D1                   ; ELCR2: IRQ 10, 11 level-triggered
        in al, dx
        or al, (PIRQ_MASK >> 8)
        out dx, al
        ; walk bus 0: every function with an interrupt pin gets its line
        mov bx, 0x0008                  ; devices 1..31 (0 is the host bridge)
.fn:    xor cl, cl
        call pci_read16
        cmp ax, 0xFFFF
        je .nextfn
        mov cl, 0x3D
        call pci_read8                  ; interrupt pin, 1 = INTA
        cmp al, 1
        jb .nextfn
        cmp al, 4
        ja .nextfn
        dec al
        mov ah, bl
        shr ah, 3                       ; slot
        add al, ah
        dec al
        and al, 3
        movzx si, al
        mov al, [cs:pirq_irqs+si]
        mov cl, 0x3C
        call pci_write8
.nextfn:
        inc bx
        cmp bx, 0x0100
        jb .fn
.done:  popa
        ret

pirq_irqs:      db PIRQ_IRQ_A, PIRQ_IRQ_B, PIRQ_IRQ_C, PIRQ_IRQ_D

; ---- $PIR table: header + one entry per slot 1..31 ----
PIR_SLOTS       equ 31
PIR_SIZE        equ 32 + 16 * PIR_SLOTS

; the checksum is the negated byte sum of everything else, computed here
%assign pir_sum 0
%macro PIRSUM 1
  %assign pir_sum pir_sum + ((%1) & 0xFF) + (((%1) >> 8) & 0xFF) + (((%1) >> 16) & 0xFF) + (((%1) >> 24) & 0xFF)
%endmacro
PIRSUM '$PIR'
PIRSUM 0x0100
PIRSUM PIR_SIZE
PIRSUM 0x0800                           ; router bus 0, devfn 08h
PIRSUM 0x70008086                       ; compatible router: PIIX3
%assign s 1
%rep PIR_SLOTS
  PIRSUM (s << 3) << 8                  ; bus 0, devfn
  %assign p 0
  %rep 4
    PIRSUM 0x60 + ((p + s - 1) & 3)
    PIRSUM PIRQ_MASK
    %assign p p+1
  %endrep
  PIRSUM s                              ; slot number
  %assign s s+1
%endrep

        align 16
pir_table:
        db '$PIR'
        dw 0x0100                       ; version 1.0
        dw PIR_SIZE
        db 0                            ; router bus
        db 0x08                         ; router device 1, function 0
        dw 0                            ; no IRQs reserved for PCI only
        dw 0x8086, 0x7000               ; compatible router
        dd 0                            ; miniport data
        times 11 db 0
        db (0x100 - (pir_sum & 0xFF)) & 0xFF
%assign s 1
%rep PIR_SLOTS
        db 0, s << 3
  %assign p 0
  %rep 4
        db 0x60 + ((p + s - 1) & 3)     ; link value = PIRQRC register
        dw PIRQ_MASK
    %assign p p+1
  %endrep
        db s, 0
  %assign s s+1
%endrep
