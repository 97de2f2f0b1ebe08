/// The x87 escapes D8–DF (SDM vol. 2, tables) as the CPU
/// implements them: memory forms by ModRM.reg (`XX/r`, memory only), and
/// register forms by the whole ModRM (`XX:MM` one byte, `XX:MM+` eight
/// with ST(i) from rm). Format as in `OneByteMap`. The undocumented
/// aliases (D9 D8+i FSTP, DC D0+i FCOM...) are executed by the CPU but
/// have no GNU name (objdump prints `(bad)`); they get the names other
/// x87 references use (FSTP1, FCOM2...). `_` in a mnemonic is a space.
enum X87Map {
    static let text = """
    D8/0m fadd Md att=fadds
    D8/1m fmul Md att=fmuls
    D8/2m fcom Md att=fcoms
    D8/3m fcomp Md att=fcomps
    D8/4m fsub Md att=fsubs
    D8/5m fsubr Md att=fsubrs
    D8/6m fdiv Md att=fdivs
    D8/7m fdivr Md att=fdivrs
    D8:C0+ fadd ST,STi
    D8:C8+ fmul ST,STi
    D8:D0+ fcom STi
    D8:D8+ fcomp STi
    D8:E0+ fsub ST,STi
    D8:E8+ fsubr ST,STi
    D8:F0+ fdiv ST,STi
    D8:F8+ fdivr ST,STi
    D9/0m fld Md att=flds
    D9/2m fst Md att=fsts
    D9/3m fstp Md att=fstps
    D9/4m fldenv M S
    D9/5m fldcw Mw
    D9/6m fnstenv M S
    D9/7m fnstcw Mw
    D9:C0+ fld STi
    D9:C8+ fxch STi
    D9:D0 fnop -
    D9:D8+ fstp1 STi
    D9:E0 fchs -
    D9:E1 fabs -
    D9:E4 ftst -
    D9:E5 fxam -
    D9:E8 fld1 -
    D9:E9 fldl2t -
    D9:EA fldl2e -
    D9:EB fldpi -
    D9:EC fldlg2 -
    D9:ED fldln2 -
    D9:EE fldz -
    D9:F0 f2xm1 -
    D9:F1 fyl2x -
    D9:F2 fptan -
    D9:F3 fpatan -
    D9:F4 fxtract -
    D9:F5 fprem1 -
    D9:F6 fdecstp -
    D9:F7 fincstp -
    D9:F8 fprem -
    D9:F9 fyl2xp1 -
    D9:FA fsqrt -
    D9:FB fsincos -
    D9:FC frndint -
    D9:FD fscale -
    D9:FE fsin -
    D9:FF fcos -
    DA/0m fiadd Md att=fiaddl
    DA/1m fimul Md att=fimull
    DA/2m ficom Md att=ficoml
    DA/3m ficomp Md att=ficompl
    DA/4m fisub Md att=fisubl
    DA/5m fisubr Md att=fisubrl
    DA/6m fidiv Md att=fidivl
    DA/7m fidivr Md att=fidivrl
    DA:C0+ fcmovb ST,STi
    DA:C8+ fcmove ST,STi
    DA:D0+ fcmovbe ST,STi
    DA:D8+ fcmovu ST,STi
    DA:E9 fucompp -
    DB/0m fild Md att=fildl
    DB/2m fist Md att=fistl
    DB/3m fistp Md att=fistpl
    DB/5m fld Mt att=fldt
    DB/7m fstp Mt att=fstpt
    DB:C0+ fcmovnb ST,STi
    DB:C8+ fcmovne ST,STi
    DB:D0+ fcmovnbe ST,STi
    DB:D8+ fcmovnu ST,STi
    DB:E0 fneni(8087_only) -
    DB:E1 fndisi(8087_only) -
    DB:E2 fnclex -
    DB:E3 fninit -
    DB:E4 fnsetpm(287_only) -
    DB:E8+ fucomi ST,STi
    DB:F0+ fcomi ST,STi
    DC/0m fadd Mq att=faddl
    DC/1m fmul Mq att=fmull
    DC/2m fcom Mq att=fcoml
    DC/3m fcomp Mq att=fcompl
    DC/4m fsub Mq att=fsubl
    DC/5m fsubr Mq att=fsubrl
    DC/6m fdiv Mq att=fdivl
    DC/7m fdivr Mq att=fdivrl
    DC:C0+ fadd STi,ST
    DC:C8+ fmul STi,ST
    DC:D0+ fcom2 STi
    DC:D8+ fcomp3 STi
    DC:E0+ fsubr STi,ST att=fsub
    DC:E8+ fsub STi,ST att=fsubr
    DC:F0+ fdivr STi,ST att=fdiv
    DC:F8+ fdiv STi,ST att=fdivr
    DD/0m fld Mq att=fldl
    DD/2m fst Mq att=fstl
    DD/3m fstp Mq att=fstpl
    DD/4m frstor M S
    DD/6m fnsave M S
    DD/7m fnstsw Mw
    DD:C0+ ffree STi
    DD:C8+ fxch4 STi
    DD:D0+ fst STi
    DD:D8+ fstp STi
    DD:E0+ fucom STi
    DD:E8+ fucomp STi
    DE/0m fiadd Mw att=fiadds
    DE/1m fimul Mw att=fimuls
    DE/2m ficom Mw att=ficoms
    DE/3m ficomp Mw att=ficomps
    DE/4m fisub Mw att=fisubs
    DE/5m fisubr Mw att=fisubrs
    DE/6m fidiv Mw att=fidivs
    DE/7m fidivr Mw att=fidivrs
    DE:C0+ faddp STi,ST
    DE:C8+ fmulp STi,ST
    DE:D0+ fcomp5 STi
    DE:D9 fcompp -
    DE:E0+ fsubrp STi,ST att=fsubp
    DE:E8+ fsubp STi,ST att=fsubrp
    DE:F0+ fdivrp STi,ST att=fdivp
    DE:F8+ fdivp STi,ST att=fdivrp
    DF/0m fild Mw att=filds
    DF/2m fist Mw att=fists
    DF/3m fistp Mw att=fistps
    DF/4m fbld Mt
    DF/5m fild Mq att=fildll
    DF/6m fbstp Mt
    DF/7m fistp Mq att=fistpll
    DF:C0+ ffreep STi
    DF:C8+ fxch7 STi
    DF:D0+ fstp8 STi
    DF:D8+ fstp9 STi
    DF:E0 fnstsw AX
    DF:E8+ fucomip ST,STi
    DF:F0+ fcomip ST,STi
    """
}
