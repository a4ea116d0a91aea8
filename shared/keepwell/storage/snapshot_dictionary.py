"""The preset dictionary the snapshot month items are compressed with (zlib's `zdict`).

A month item is rewritten whole by every daily scoring (decision 0026), and DynamoDB bills each write by
the item's size in whole KB, twice inside the scorer's transaction. Early in a month the item holds a
few days, too little text for zlib to find the repetitions it finds in a full month; starting from a
typical day's line (the snapshot's field names, the dimensions, the explanation's phrases) it finds
them from the first day. Measured on `bench.recalc`'s customers, the average write of a month item
over its month goes from 2.73 to 2.14 KB billed (docs/cost.md).

**Never edit `DICTIONARY_1`**: items compressed with it name it by its Adler-32 checksum (zlib's
DICTID) and need the same bytes to be read. A better dictionary is added as `DICTIONARY_2` after it in
`CODEC` (storage/preset_zlib.py). Items written before the dictionary (no FDICT flag) read as before.
"""

from __future__ import annotations

from keepwell.storage.preset_zlib import FDICT, PresetDictionaries

__all__ = ["CODEC", "DICTIONARY_1", "FDICT", "compress", "decompress"]

DICTIONARY_1 = (
    b'2026-01-01\t1\t00000000000000000000000000000000\t{"customer_id":"cus_0000000000000000","date":"2026-01-01",'
    b'"score":50.0,"display_score":50.0,"smoothed_score":50.0,"band":"Neutral","band_color":"yellow","dimensions":'
    b'[{"key":"payment","label":"Payment","value":100.0,"weight":10.0,"effective_weight":10.0,"contribution":10.0,'
    b'"na":false},{"key":"relationship","label":"Relationship","value":null,"weight":10.0,"effective_weight":0.0,'
    b'"contribution":0.0,"na":true},{"key":"contract","label":"Contract","value":50.0,"weight":10.0,'
    b'"effective_weight":10.0,"contribution":5.0,"na":false}],"na_dimensions":["relationship"],"coverage":0.9,'
    b'"model_version":1,"top_positive":[{"dimension":"payment","text":"no overdue invoices","impact":1.0,"ref":null}],'
    b'"top_negative":[{"dimension":"contract","text":"renewal in 30 days","impact":-1.0,"ref":null}],"explanation":'
    b"\"Customer has no health score: none of the model's dimensions has data. Relationship has no data, so its "
    b'weight was shared among the other dimensions (coverage 90%).","pending_band":"Healthy","pending_days":1}\n'
    b'2026-01-02\t0\t00000000000000000000000000000000\t{"customer_id":"cus_0000000000000000","date":"2026-01-02",'
    b'"score":50.0,"display_score":50.0,"smoothed_score":50.0,"band":"At risk","band_color":"red","dimensions":'
    b'[{"key":"usage","label":"Usage","value":50.0,"weight":40.0,"effective_weight":44.44444444444444,'
    b'"contribution":22.22222222222222,"na":false},{"key":"engagement","label":"Engagement","value":0.0,'
    b'"weight":30.0,"effective_weight":33.333333333333336,"contribution":0.0,"na":false},{"key":"support",'
    b'"label":"Support","value":100.0,"weight":20.0,"effective_weight":22.22222222222222,"contribution":'
    b'22.22222222222222,"na":false},{"key":"sentiment","label":"Sentiment","value":null,"weight":10.0,'
    b'"effective_weight":0.0,"contribution":0.0,"na":true}],"na_dimensions":["sentiment"],"coverage":0.9,'
    b'"model_version":0,"top_positive":[{"dimension":"support","text":"0 tickets open or pending","impact":5.6,'
    b'"ref":null},{"dimension":"support","text":"0 escalated tickets in the last 30 days","impact":5.6,"ref":null},'
    b'{"dimension":"usage","text":"7 distinct features used in the last 30 days","impact":3.0,"ref":null}],'
    b'"top_negative":[{"dimension":"usage","text":"logins per seat down to 0.0/week","impact":-7.3,"ref":null},'
    b'{"dimension":"usage","text":"DAU/MAU down to 3%","impact":-6.2,"ref":null},{"dimension":"engagement","text":'
    b'"0.0 customer emails/week","impact":-4.2,"ref":null}],"explanation":"Customer scores 50.0 (At risk). It is '
    b"pulled down by engagement at 0 (33% of the score): 0.0 customer emails/week; 0.0 CSM emails/week and usage at "
    b"50 (44% of the score): logins per seat down to 0.0/week; DAU/MAU down to 3%. It is held up by support at 100 "
    b"(22% of the score): 0 tickets open or pending; 0 escalated tickets in the last 30 days. Also watch: 0 meetings "
    b"in the last 30 days; 0 meeting minutes in the last 30 days. Sentiment has no data, so its weight was shared "
    b'among the other dimensions (coverage 90%).","pending_band":null,"pending_days":0}\n'
)

CODEC = PresetDictionaries(DICTIONARY_1, what="snapshot month")
compress = CODEC.compress
decompress = CODEC.decompress
