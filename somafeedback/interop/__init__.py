"""Files in and out for other tools: importing RR files and other apps' recordings into
sessions (``importer``), the RR file formats it reads and Kubios text it writes (``rr_files``),
and exporting a session as Kubios RR text, CSV tables or EDF+ (``export``). May import
``sessions``, ``hrv``, ``signals`` and below; not ``regulation``, ``live`` or anything above
(``live`` and ``interop`` are independent of each other).
"""
