/// The one-byte opcode map (SDM vol. 2, table A-2) as the CPU implements it.
///
/// Line format (parsed once by `InstructionTable`):
///   KEY MNEMONIC OPERANDS [FLAGS...]
/// KEY is a hex opcode (`0F`-prefixed for the two-byte map), optionally
/// `XX+` (eight opcodes, register in the low bits), `XX+cc` (sixteen, with
/// `{cc}` in the mnemonic replaced by the condition), `XX-YY` (a range),
/// `XX/r` (group entry by ModRM.reg) or `XX:MM` / `XX:MM+` (x87 register
/// forms by whole ModRM). A trailing `m` or `r` on the key restricts the
/// form to memory or register operands. MNEMONIC is `name` or
/// `name16|name32`. OPERANDS are `OperandSpec` names joined by commas, or
/// `-`. FLAGS: `L` lockable, `UD` raises #UD by definition, `nomod` mod
/// ignored, `A` mnemonics by address size, `S` a size suffix when 66 makes
/// the operand size differ from the code size (PUSHA → PUSHAD, PUSH ES →
/// PUSHW ES, as GNU tools print them), `SA` a size suffix always (SGDT),
/// `att=name` or `att=name16|name32` the AT&T mnemonic.
/// An opcode with no line is undefined and raises #UD.
enum OneByteMap {
    static let text = """
    00 add Eb,Gb L
    01 add Ev,Gv L
    02 add Gb,Eb
    03 add Gv,Ev
    04 add AL,Ib
    05 add rAX,Iz
    06 push ES S
    07 pop ES S
    08 or Eb,Gb L
    09 or Ev,Gv L
    0A or Gb,Eb
    0B or Gv,Ev
    0C or AL,Ib
    0D or rAX,Iz
    0E push CS S
    10 adc Eb,Gb L
    11 adc Ev,Gv L
    12 adc Gb,Eb
    13 adc Gv,Ev
    14 adc AL,Ib
    15 adc rAX,Iz
    16 push SS S
    17 pop SS S
    18 sbb Eb,Gb L
    19 sbb Ev,Gv L
    1A sbb Gb,Eb
    1B sbb Gv,Ev
    1C sbb AL,Ib
    1D sbb rAX,Iz
    1E push DS S
    1F pop DS S
    20 and Eb,Gb L
    21 and Ev,Gv L
    22 and Gb,Eb
    23 and Gv,Ev
    24 and AL,Ib
    25 and rAX,Iz
    26 es - prefix
    27 daa -
    28 sub Eb,Gb L
    29 sub Ev,Gv L
    2A sub Gb,Eb
    2B sub Gv,Ev
    2C sub AL,Ib
    2D sub rAX,Iz
    2E cs - prefix
    2F das -
    30 xor Eb,Gb L
    31 xor Ev,Gv L
    32 xor Gb,Eb
    33 xor Gv,Ev
    34 xor AL,Ib
    35 xor rAX,Iz
    36 ss - prefix
    37 aaa -
    38 cmp Eb,Gb
    39 cmp Ev,Gv
    3A cmp Gb,Eb
    3B cmp Gv,Ev
    3C cmp AL,Ib
    3D cmp rAX,Iz
    3E ds - prefix
    3F aas -
    40+ inc Zv
    48+ dec Zv
    50+ push Zv
    58+ pop Zv
    60 pusha - S
    61 popa - S
    62m bound Gv,Ma
    63 arpl Ew,Gw
    64 fs - prefix
    65 gs - prefix
    66 data16 - prefix
    67 addr16 - prefix
    68 push Iz S
    69 imul Gv,Ev,Iz
    6A push Ibs S
    6B imul Gv,Ev,Ibs
    6C ins Yb,DX att=insb
    6D ins Yv,DX att=insw|insl
    6E outs DX,Xb att=outsb
    6F outs DX,Xv att=outsw|outsl
    70+cc j{cc} Jb
    84 test Eb,Gb
    85 test Ev,Gv
    86 xchg Eb,Gb L
    87 xchg Ev,Gv L
    88 mov Eb,Gb
    89 mov Ev,Gv
    8A mov Gb,Eb
    8B mov Gv,Ev
    8Dm lea Gv,M
    90 nop -
    91-97 xchg Zv,rAX
    98 cbw|cwde - att=cbtw|cwtl
    99 cwd|cdq - att=cwtd|cltd
    9A call Ap S att=lcall
    9B fwait -
    9C pushf - S
    9D popf - S
    9E sahf -
    9F lahf -
    A0 mov AL,Ob
    A1 mov rAX,Ov
    A2 mov Ob,AL
    A3 mov Ov,rAX
    A4 movs Yb,Xb att=movsb
    A5 movs Yv,Xv att=movsw|movsl
    A6 cmps Xb,Yb att=cmpsb
    A7 cmps Xv,Yv att=cmpsw|cmpsl
    A8 test AL,Ib
    A9 test rAX,Iz
    AA stos Yb,AL
    AB stos Yv,rAX
    AC lods AL,Xb
    AD lods rAX,Xv
    AE scas AL,Yb
    AF scas rAX,Yv
    B0+ mov Zb,Ib
    B8+ mov Zv,Iz
    C2 ret Iw S
    C3 ret - S
    C4m les Gv,Mp
    C5m lds Gv,Mp
    C8 enter Iw,Ib S
    C9 leave - S
    CA retf Iw S att=lret
    CB retf - S att=lret
    CC int3 -
    CD int Ib
    CE into -
    CF iret - S
    D4 aam Ib
    D5 aad Ib
    D6 salc -
    D7 xlat XL
    E0 loopne Jb A
    E1 loope Jb A
    E2 loop Jb A
    E3 jcxz|jecxz Jb A
    E4 in AL,Ib
    E5 in rAX,Ib
    E6 out Ib,AL
    E7 out Ib,rAX
    E8 call Jz S
    E9 jmp Jz S
    EA jmp Ap S att=ljmp
    EB jmp Jb
    EC in AL,DX
    ED in rAX,DX
    EE out DX,AL
    EF out DX,rAX
    F0 lock - prefix
    F1 int1 -
    F2 repnz - prefix
    F3 repz - prefix
    F4 hlt -
    F5 cmc -
    F8 clc -
    F9 stc -
    FA cli -
    FB sti -
    FC cld -
    FD std -
    """
}
