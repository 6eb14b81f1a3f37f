"""Realistic synthetic registry files for ``disburse seed``, the demo and the benchmarks.

``files.write_csvs`` writes employers.csv, employees.csv and salary_funds.csv in exactly the columns the importer
reads, so the data reaches the database through the same path as the agency's files. The modules: calendar (NQ116's
dates and their shift), places (administrative units, addresses), employers, employees and salary_funds (the
generators of each file), context (what one write builds once), files (the writing), common (seeded generators).

What makes the data realistic (and useful to test against):
- 2021 administrative units (GSO codes) from ``vietnam-provinces`` 0.6.0, with ward names in the addresses;
  employers spread over districts, employees mostly living near their employer.
- Heavy-tailed employer sizes, from a few staff to a few thousand, and one unit of exactly 2,682 employees
  (ToTo Vietnam's head count in the news) in Đông Anh whenever there are that many employees.
- All six sectors; Vietnamese names built from Faker's ``vi_VN`` lists (plus common surnames and given names
  Faker lacks), family name first; mobile numbers on Vietnamese prefixes.
- 10-digit SI codes (unique) and 12-digit CCCD numbers laid out as the real ones are: province-of-birth code,
  gender/century digit, birth-year digits, six digits (unique except the deliberate possible duplicates: the
  same person under two SI codes, about 0.2% of rows).
- About 90% participating and 10% stopped, stopped inside and outside the 2020-01-01 … 2021-09-30 window;
  unused months in every tier (a few exactly on the tier boundaries) and never more than the person's age or
  the UI scheme (which started in January 2009) allows; pension decisions among older stopped workers;
  about 15% without bank details.
- Monthly UI salary funds 2021-10 … 2022-09 per employer, from its head count and an average insured salary.
"""
