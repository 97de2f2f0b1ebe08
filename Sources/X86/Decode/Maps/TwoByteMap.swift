/// The 0F opcode map (SDM vol. 2, table A-3): i686 without MMX/SSE, as the
/// CPU implements it. Format as in `OneByteMap`.
enum TwoByteMap {
    static let text = """
    0F02 lar Gv,EwRv
    0F03 lsl Gv,EwRv
    0F06 clts -
    0F08 invd -
    0F09 wbinvd -
    0F0B ud2 - UD
    0F19-0F1E nop Ev
    0F1F nop Ev
    0F20 mov Rd,Cd nomod
    0F21 mov Rd,Dd nomod
    0F22 mov Cd,Rd nomod
    0F23 mov Dd,Rd nomod
    0F30 wrmsr -
    0F31 rdtsc -
    0F32 rdmsr -
    0F34 sysenter -
    0F35 sysexit -
    0F40+cc cmov{cc} Gv,Ev
    0F80+cc j{cc} Jz
    0F90+cc set{cc} Eb
    0FA0 push FS S
    0FA1 pop FS S
    0FA2 cpuid -
    0FA3 bt Ev,Gv
    0FA4 shld Ev,Gv,Ib
    0FA5 shld Ev,Gv,CL
    0FA8 push GS S
    0FA9 pop GS S
    0FAB bts Ev,Gv L
    0FAC shrd Ev,Gv,Ib
    0FAD shrd Ev,Gv,CL
    0FAF imul Gv,Ev
    0FB0 cmpxchg Eb,Gb L
    0FB1 cmpxchg Ev,Gv L
    0FB2m lss Gv,Mp
    0FB3 btr Ev,Gv L
    0FB4m lfs Gv,Mp
    0FB5m lgs Gv,Mp
    0FB6 movzx Gv,Eb att=movzbw|movzbl
    0FB7 movzx Gv,Ew att=movzww|movzwl
    0FB9 ud1 Gv,Ev UD
    0FBB btc Ev,Gv L
    0FBC bsf Gv,Ev
    0FBD bsr Gv,Ev
    0FBE movsx Gv,Eb att=movsbw|movsbl
    0FBF movsx Gv,Ew att=movsww|movswl
    0FC0 xadd Eb,Gb L
    0FC1 xadd Ev,Gv L
    0FC8+ bswap Zv
    0FFF ud0 Gv,Ev UD
    """
}
