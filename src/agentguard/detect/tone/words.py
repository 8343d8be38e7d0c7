"""The built-in word list of the tone detector: terms, their subtype and base score.

Warning: this module necessarily spells out profanity, slurs and sexual terms.

Each :class:`Term` is one entry a brand account must not post, with every surface form the
scanner should know (inflections, compounds, common spellings). Obfuscated spellings —
leetspeak, stretched letters, spaced-out letters, asterisk masks, homoglyphs — are *not*
listed: :mod:`agentguard.detect.tone.scan` derives them. Matching is by whole token only, so
“Scunthorpe”, “cocktail” and “assessment” never reach a term.

Scores are the base confidence that posting the word is inappropriate, before context
(quotes, moderation talk, code identifiers, names) moves it; see
:mod:`agentguard.detect.tone.detector`.
Rough tiers: slurs 0.7–0.98, strong profanity and explicit sexual terms 0.8–0.95, crude
abbreviations 0.55–0.85, mild or ambiguous words (“damn”, “hell”, “bloody”, “crap”) 0.25–0.45,
informal slang (“bruh”, “hella”, “no cap”) 0.25–0.4. Informal slang alone stays below the 0.5
flag line; a cluster of it does not (the detector raises clustered slang).

Source: compiled for agentguard (Apache-2.0, like the rest of the package) and cross-checked
against public lists: the LDNOOBW “List of Dirty, Naughty, Obscene and Otherwise Bad Words”
(CC BY 4.0), Surge AI's profanity list with severity ratings (MIT) and David Sojevic's
profanity-list (MIT). Those lists are far broader (“sex”, “nude”, “escort”, “gay”, “kill”)
and carry no subtype, so they are not shipped as they are; entries here are chosen for
outbound brand text, where a false alarm on ordinary prose is a cost too. A few entries
(scumbag, “you suck”, slurs the list lacked) and safe contexts (the dog, the cigarette, the
meatball, the embankment) came from errors on the ``tune`` split of ``data/tone/`` (public
labelled data; see data/README.md); its ``dev`` split is only measured
(``bench/eval_tone.py``).

Flags: ``name`` — also a given name or place (“Dick”, “Fanny”): title case inside a sentence
scores low; ``lower`` — only reported when written in lower case (“bs”, not “BS” the degree);
``after_word`` — only as an intensifier after a word (“af” in “cheap af”, not “the AF motor”).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SAFE_CONTEXTS", "SUBTYPES", "TERMS", "Term", "expand"]

#: PROFANITY subtypes
SUBTYPES: tuple[str, ...] = ("profanity", "slur", "sexual", "slang")


@dataclass(frozen=True, slots=True)
class Term:
    """One word-list entry: its canonical spelling, subtype, base score and surface forms."""

    canonical: str
    subtype: str
    score: float
    forms: tuple[str, ...]
    flags: frozenset[str] = frozenset()


_BRACES = re.compile(r"\{([^{}]*)\}")


def expand(spec: str) -> list[str]:
    """Brace expansion, one level: ``"fuck{,s,ed}"`` → ``["fuck", "fucks", "fucked"]``."""
    m = _BRACES.search(spec)
    if m is None:
        return [spec]
    head, tail = spec[: m.start()], spec[m.end() :]
    return [w for alt in m.group(1).split(",") for w in expand(head + alt + tail)]


def _terms(table: str) -> tuple[Term, ...]:
    """Parse ``subtype score canonical | forms… [| flags…]`` lines (``_`` joins phrase words)."""
    terms = []
    for raw in table.strip().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, forms_part, *flag_part = (part.strip() for part in line.split("|"))
        subtype, score, canonical = head.split()
        forms = [f.replace("_", " ") for spec in forms_part.split() for f in expand(spec)]
        flags = frozenset(flag_part[0].split()) if flag_part else frozenset()
        terms.append(
            Term(
                canonical.replace("_", " "),
                subtype,
                float(score),
                tuple(dict.fromkeys(forms)),
                flags,
            )
        )
    return tuple(terms)


# fmt: off
TERMS: tuple[Term, ...] = _terms("""
# ---------------------------------------------------------------- profanity
profanity 0.90 fuck | fuck{,s,ed,er,ers,ing,in,n,en,up,ups,face,faces,head,heads,wit,wits,tard,tards,boy,boys,ery,ton,off,all} fck{,s,ed,er,ing,in,n} fcuk{,ing} fuk{,s,ed,er,ing,in,king} fking fkin fkn phuck{,ing,ed,er} phuk fvck{,ing,ed,er} fuq{,ing} fukc
profanity 0.95 motherfucker | motherfuck{er,ers,ing,in,a,as} mothafuck{a,as,er,ers,in,ing} muthafuck{a,as,er,ers,in,ing} motherf{u,v}cker
profanity 0.70 mofo | mofo{,s}
profanity 0.85 clusterfuck | clusterfuck{,s,ed}
profanity 0.45 effing | effing eff{in,ed}
profanity 0.40 feck | feck{,ing,in,er}
profanity 0.85 shit | shit{,s,ty,tier,tiest,ted,ting,e,es,head,heads,hole,holes,show,shows,storm,storms,load,loads,faced,less,bag,bags,bird,post,posting,posts} bullshit{,s,ted,ting,ter,ters} horseshit batshit apeshit dipshit{,s} chickenshit jackshit
profanity 0.95 cunt | cunt{,s,y,face,ish}
profanity 0.80 bitch | bitch{,es,y,ing,in,ed,ass,asses} biatch{,es} biotch beyotch
profanity 0.85 asshole | asshole{,s} arsehole{,s} asshat{,s} asswipe{,s} assface buttfuck{,er,ers}
profanity 0.65 dumbass | dumbass{,es} fatass{,es}
profanity 0.60 jackass | jackass{,es}
profanity 0.55 smartass | smartass{,es}
profanity 0.45 badass | badass{,es} kickass
profanity 0.55 ass | ass asses arse arses arsed
profanity 0.70 bastard | bastard{,s}
profanity 0.60 dick | dick{,s} | name
profanity 0.80 dickhead | dickhead{,s} dickface dickwad{,s} dickish
profanity 0.60 cock | cock{,s}
profanity 0.90 cocksucker | cocksuck{er,ers,ing}
profanity 0.55 prick | prick{,s}
profanity 0.65 piss | piss{,es,ing,y,head,heads,take} pissed
profanity 0.45 crap | crap{,py,pier,piest,per,ping,load}
profanity 0.45 turd | turd{,s}
profanity 0.35 damn | damn{,it,ed} dammit
profanity 0.60 goddamn | goddamn{,ed,it} goddammit godamn{,it}
profanity 0.30 hell | hell
profanity 0.40 hell_phrase | what_the_hell hell_yeah bloody_hell hell_no
profanity 0.60 go_to_hell | go_to_hell
profanity 0.30 bloody | bloody
profanity 0.65 bollocks | bollock{s,ing,ed} bollox
profanity 0.50 bugger | bugger{,s,ed,ing} bugger_off
profanity 0.85 twat | twat{,s}
profanity 0.80 wank | wank{,s,er,ers,ing,y,ed}
profanity 0.70 tosser | tosser{,s}
profanity 0.75 bellend | bellend{,s}
profanity 0.70 knobhead | knobhead{,s} knobend
profanity 0.60 douche | douche{,s,y} douchy
profanity 0.75 douchebag | douchebag{,s}
profanity 0.60 screw_you | screw_you screw_off screw_this screw_that
profanity 0.45 screw_it | screw_it
profanity 0.45 sod_off | sod_off sodding
profanity 0.70 kiss_my_ass | kiss_my_ass kiss_my_arse
profanity 0.60 butthole | butthole{,s}
profanity 0.60 scumbag | scumbag{,s}
profanity 0.55 you_suck | you_suck u_suck suck_me suck_my
# ---------------------------------------------------------------- slurs
slur 0.98 nigger | nigger{,s} sandnigger{,s}
slur 0.90 nigga | nigga{,s,z,h}
slur 0.90 niglet | niglet{,s}
slur 0.60 negro | negro{,s,es} | name
slur 0.95 kike | kike{,s}
slur 0.90 chink | chink{,s,y}
slur 0.90 gook | gook{,s}
slur 0.90 spic | spic{,s} spick{,s}
slur 0.95 wetback | wetback{,s}
slur 0.85 beaner | beaner{,s}
slur 0.90 raghead | raghead{,s} towelhead{,s}
slur 0.90 camel_jockey | camel_jockey{,s}
slur 0.85 paki | paki{,s}
slur 0.70 coon | coon{,s}
slur 0.60 jap | jap{,s} | lower
slur 0.80 wop | wop{,s}
slur 0.75 dago | dago{,s}
slur 0.65 kraut | kraut{,s}
slur 0.80 gyppo | gyppo{,s} gypo{,s} pikey{,s}
slur 0.75 redskin | redskin{,s}
slur 0.80 injun | injun{,s}
slur 0.75 squaw | squaw{,s}
slur 0.70 chinaman | chinaman chinamen
slur 0.85 wog | wog{,s} golliwog{,s}
slur 0.90 zipperhead | zipperhead{,s}
slur 0.70 honky | honky honkies
slur 0.60 whitey | whitey{,s} whities
slur 0.80 wigger | wigger{,s}
slur 0.80 muzzie | muzzie{,s}
slur 0.85 rapefugee | rapefugee{,s}
slur 0.90 faggot | faggot{,s,y} fagot{,s} faggit{,s} fagget{,s}
slur 0.65 homo | homo{,s}
slur 0.75 fag | fag{,s,gy}
slur 0.70 dyke | dyke{,s} | name
slur 0.80 tranny | tranny trannies
slur 0.90 shemale | shemale{,s}
slur 0.80 poofter | poofter{,s}
slur 0.85 batty_boy | batty_boy{,s} battyman
slur 0.85 fudgepacker | fudgepacker{,s} fudge_packer{,s}
slur 0.75 lesbo | lesbo{,s} lezzie{,s} lezza
slur 0.80 retard | retard{,s} retarded
slur 0.70 tard | tard{,s}
slur 0.70 spaz | spaz{,z,zes,zing,zed,tic}
slur 0.70 mong | mong{,s,oloid}
# ---------------------------------------------------------------- sexual
sexual 0.60 porn | porn porny porno{,s,graphic,graphy}
sexual 0.75 pornstar | pornstar{,s} porn_star{,s} pornhub
sexual 0.80 pussy | pussy pussies
sexual 0.80 dildo | dildo{,s}
sexual 0.90 blowjob | blowjob{,s} blow_job{,s} rimjob{,s} footjob{,s} handjob{,s} hand_job{,s}
sexual 0.70 jerk_off | jerk_off jerks_off jerking_off jerked_off jack_off jacking_off jerkoff jackoff
sexual 0.85 jizz | jizz{,ed,ing,es}
sexual 0.70 cum | cum{,s,ming,med,my}
sexual 0.90 cumshot | cumshot{,s} cumslut{,s} cumdump
sexual 0.85 creampie | creampie{,s}
sexual 0.90 gangbang | gangbang{,s,ed,ing} gang_bang{,s,ed,ing}
sexual 0.90 bukkake | bukkake
sexual 0.80 deepthroat | deepthroat{,ing,ed}
sexual 0.85 slut | slut{,s,ty,tier} skank{,s,y}
sexual 0.85 whore | whore{,s,house,houses,d} manwhore
sexual 0.40 hoe | hoe{,s} | lower
sexual 0.60 thot | thot{,s} | lower
sexual 0.70 tits | tits titties titty
sexual 0.60 boobs | boobs boobies booby booty_call
sexual 0.60 horny | horny hornier horniest
sexual 0.80 milf | milf{,s} dilf{,s} gilf{,s}
sexual 0.70 hentai | hentai
sexual 0.60 boner | boner{,s}
sexual 0.45 orgy | orgy orgies orgasm{,s}
sexual 0.85 dick_pic | dick_pic{,s} dickpic{,s}
sexual 0.50 nudes | nudes
sexual 0.25 sexy | sexy
sexual 0.60 threesome | threesome{,s}
# ---------------------------------------------------------------- slang: crude
slang 0.70 wtf | wtf wtaf dafuq
slang 0.80 stfu | stfu gtfo idgaf
slang 0.70 omfg | omfg
slang 0.60 lmfao | lmfao roflmao
slang 0.60 fml | fml ffs
slang 0.55 af | af | after_word
slang 0.45 wth | wth
slang 0.85 kys | kys
slang 0.60 mf | mf | lower
slang 0.40 bs | bs | lower
slang 0.50 deadass | deadass
slang 0.50 thicc | thicc{,er}
slang 0.50 gyat | gyat{,t}
slang 0.50 deez_nuts | deez_nuts
# ---------------------------------------------------------------- slang: informal
slang 0.45 lmao | lmao
slang 0.40 hella | hella
slang 0.40 simp | simp{,s,ing}
slang 0.35 bruh | bruh
slang 0.35 finna | finna
slang 0.35 bussin | bussin
slang 0.35 rizz | rizz
slang 0.35 skibidi | skibidi
slang 0.35 no_cap | no_cap
slang 0.30 yeet | yeet{,ed}
slang 0.30 smh | smh
slang 0.30 ngl | ngl
slang 0.30 yolo | yolo
slang 0.30 rofl | rofl
slang 0.30 bae | bae
slang 0.30 periodt | periodt
slang 0.25 omg | omg
slang 0.25 tbh | tbh
slang 0.25 lowkey | lowkey highkey
slang 0.25 sheesh | sheesh
""")
# fmt: on

#: per canonical term, phrases around a match that make it innocent (searched in the
#: lower-cased text near the hit): "cum laude", "chink in the armour", "tit for tat" …
SAFE_CONTEXTS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "cum": r"(?:summa|magna|cum)\W+(?:cum\W+)?laude|\bcum\W+(?:laude|dividend|grano)|\w-cum-\w",
        "chink": r"chinks?\W+(?:in|of)\W+(?:the|his|her|its|their|our|my|your|an?)?\W*"
        r"(?:armou?r|light|sunlight|daylight|curtains?|wall|door)|chinks?\W+of\b",
        "spic": r"spick?\W+(?:and|&|n)\W+span",
        "cock": r"cock(?:ed|ing|s)?\W+(?:the|a|his|her|my)\W+(?:gun|hammer|trigger|pistol|rifle|"
        r"revolver|hat|head|eyebrow|ear)|cock\W+a\W+doodle|cock\W+crow",
        "prick": r"prick(?:ed|s|ing)?\W+(?:your|my|his|her|their|the|a)\W+(?:finger|skin|ear|"
        r"thumb|conscience)|prick\W+up",
        "pussy": r"pussy\W*(?:cat|cats|willow|willows|riot)",
        # the meatball and the bundle of sticks
        "faggot": r"faggots?\W+(?:\w+\W+){0,4}?(?:peas|gravy|onions?|mash|dinner|butcher|cooked|"
        r"delicious|sticks|twigs|firewood|fuel|kindling|bundle)\b|(?:ate|eat|eating|cooked|cook|"
        r"fried|butcher|pork|sticks|twigs)\W+(?:\w+\W+){0,3}?faggots?|meatballs?\W+(?:\w+\W+){0,6}?"
        r"faggots?",
        # the cigarette
        "fag": r"fags?\W+(?:end|ends|break)|smok\w*\W+(?:\w+\W+){0,2}?fags?\b|(?:packet|pack|box|"
        r"carton|pouch)\W+of\W+fags|cigarettes?\W+(?:\w+\W+){0,3}?fags\b|fags?\W+(?:\w+\W+){0,3}?"
        r"(?:cigarettes?|lighter|ashtray|tobacco)",
        # the female dog
        "bitch": r"(?:labrador|retriever|spaniel|terrier|collie|poodle|alsatian|greyhound|whippet|"
        r"beagle|dachshund|breeding|brood|pedigree)\W+bitch(?:es)?\b|canines?\W+(?:\w+\W+){0,3}?"
        r"bitch(?:es)?\b|bitch(?:es)?\W+(?:\w+\W+){0,8}?(?:puppies|puppy|pups|whelp\w*|litter|"
        r"vet|kennels?|crufts|(?:other|sporting|show|gun|working)\W+dogs?|dog\W+show)\b",
        "retard": r"retard(?:ed)?\W+(?:potential|potentials|time|green|propagator|growth|flow|"
        r"ignition|spark|position|the|its|their|our)",
        "hoe": r"(?:garden|dutch|draw|hand|stirrup|scuffle|wheel)\W+hoes?|hoes?\W+(?:and|or)\W+"
        r"(?:rake|spade|shovel)",
        "no cap": r"no\W+cap\W+(?:on|for|to|of|at|in)\b",
        "tits": r"(?:blue|great|coal|marsh|willow|crested|long\W+tailed|bearded|penduline)\W+"
        r"tits?\b|tits?\W+(?:and|or)\W+(?:robins|finches|sparrows|wrens)",
        "af": r"\baf\W+en\W+toe\b",
        "bloody": r"bloody\W+(?:nose|noses|mary|sunday|battle|war|fight|conflict|wound)",
        "screw you": r"screw\W+(?:this|that)\W+(?:into|onto|in|on|to)\b",
        "screw it": r"screw\W+it\W+(?:in|into|on|onto|down|up|tight|back|to|firmly|securely)\b",
        "mong": r"\bhmong\b",
        # the embankment
        "dyke": r"(?:offa'?s|dutch|sea|flood|river|canal|build\w*|built|breach\w*)\W+"
        r"(?:\w+\W+){0,2}?dykes?|walk\w*\W+(?:on|along)\W+(?:\w+\W+){0,2}?dykes?|dykes?\W+"
        r"(?:\w+\W+){0,5}?(?:flood\w*|sea|water|river|beach|marsh\w*|embankments?|canal|polder|"
        r"tides?|erosion|pasture|levees?)\b|(?:walls?|embankments?|levees?)\W+(?:\w+\W+){0,6}?"
        r"dykes?",
        "homo": r"homo\W+(?:sapiens|erectus|habilis|ergaster|floresiensis|naledi|neanderthalensis|"
        r"heidelbergensis|antecessor|rudolfensis|luzonensis|economicus|ludens|faber|novus|"
        r"sovieticus|deus)|ecce\W+homo|genus\W+homo",
        "you suck": r"suck\W+my\W+(?:thumb|teeth|cheeks?|lips|breath|straw)",
        "coon": r"coon\W*(?:hound|dog|skin|cat)",
        "boobs": r"booby\W*(?:trap|traps|trapped|prize|hatch)",
        "hell": r"hell'?s\W+kitchen",
        "kraut": r"sauer\W*kraut",
        "jap": r"jap\W+(?:satin|silk)",
    }.items()
}
