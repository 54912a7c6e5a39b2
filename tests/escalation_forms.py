"""A small referral form and its escalation ladder for the sweep's tests and benchmark.

Level 1 mails the record's desa operators, level 2 its kecamatan staff, level 3 the district office.
"""

from __future__ import annotations

FORM = "laporan"
FORM_YAML = """
form: laporan
title: {id: Laporan Warga, en: Resident report}
title_field: nama
region_field: desa
permissions:
  Dinsos: [view, add, edit]
  Kecamatan: [view, add, edit]
  Operator Desa: [view, add, edit]
fields:
  - {name: nik, type: nik, label: NIK}
  - {name: nama, type: text, label: Nama, required: true}
  - {name: desa, type: region, level: desa, label: Desa}
workflow:
  state_field: status
  initial: terdaftar
  states:
    - name: terdaftar
      label: {id: Terdaftar, en: Registered}
      sla: 3
      ladder:
        - {after: 1, role: Operator Desa, level: desa}
        - {after: 3, role: Kecamatan, level: kecamatan}
        - {after: 5, role: Dinsos, level: kabupaten}
    - name: selesai
      label: {id: Selesai, en: Closed}
      terminal: true
  transitions:
    - {name: selesaikan, from: terdaftar, to: selesai, label: Selesaikan, roles: [Dinsos]}
"""
