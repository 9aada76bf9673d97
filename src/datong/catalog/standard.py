"""The standard dictionary every hub starts with: common data elements and national code lists.

Code list contents are the published national standards (GB/T 2261.1 sex, GB/T 3304 ethnic
groups, GB/T 4766 marital status, a summary of GB/T 4658 education levels).
"""

from __future__ import annotations

SEX = ("GB/T 2261.1", "人的性别代码", "Sex", [
    ("0", "未知的性别", "unknown"), ("1", "男性", "male"), ("2", "女性", "female"), ("9", "未说明的性别", "not stated"),
])
ETHNIC_NAMES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 "
    "黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 "
    "撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 "
    "京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split()
ETHNICITY = ("GB/T 3304", "中国各民族名称的罗马字母拼写法和代码", "Ethnic groups",
             [(f"{i:02d}", name, "") for i, name in enumerate(ETHNIC_NAMES, start=1)])
MARITAL = ("GB/T 4766", "婚姻状况代码", "Marital status", [
    ("10", "未婚", "unmarried"), ("20", "已婚", "married"), ("21", "初婚", "first marriage"),
    ("22", "再婚", "remarried"), ("23", "复婚", "remarried to former spouse"), ("30", "丧偶", "widowed"),
    ("40", "离婚", "divorced"), ("90", "未说明的婚姻状况", "not stated"),
])
EDUCATION = ("GB/T 4658", "学历代码", "Education level", [
    ("10", "研究生教育", "postgraduate"), ("20", "大学本科教育", "undergraduate"), ("30", "大学专科教育", "college"),
    ("40", "中等职业教育", "secondary vocational"), ("60", "普通高级中学教育", "senior high school"),
    ("70", "初级中学教育", "junior high school"), ("80", "小学教育", "primary school"), ("90", "其他", "other"),
])
CODE_LISTS = (SEX, ETHNICITY, MARITAL, EDUCATION)

# identifier, 中文名, English name, type, length, format, code list, rule, sensitivity, key kind, registry
ELEMENTS = (
    ("DE0001", "公民身份号码", "citizen ID number", "string", 18, None, None, "id_number", "highly_sensitive", "person", "population"),
    ("DE0002", "姓名", "name", "string", 50, None, None, None, "sensitive", None, "population"),
    ("DE0003", "性别代码", "sex", "string", 1, None, "GB/T 2261.1", "code_list", "internal", None, "population"),
    ("DE0004", "出生日期", "date of birth", "date", None, None, None, "date", "sensitive", None, "population"),
    ("DE0005", "民族代码", "ethnic group", "string", 2, None, "GB/T 3304", "code_list", "sensitive", None, "population"),
    ("DE0006", "国籍", "nationality", "string", 3, "[A-Z]{3}", None, "pattern", "internal", None, "population"),
    ("DE0007", "行政区划代码", "division code", "string", 6, None, None, "division_code", "public", None, None),
    ("DE0008", "住址", "address", "string", 200, None, None, None, "sensitive", None, "population"),
    ("DE0009", "联系电话", "phone number", "string", 20, r"(\+?86)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}", None, "pattern", "sensitive", None, "population"),
    ("DE0010", "统一社会信用代码", "unified social credit code", "string", 18, None, None, "credit_code", "public", "entity", "legal_entity"),
    ("DE0011", "单位名称", "organisation name", "string", 200, None, None, None, "public", None, "legal_entity"),
    ("DE0012", "法定代表人", "legal representative", "string", 50, None, None, None, "internal", None, "legal_entity"),
    ("DE0013", "注册资本", "registered capital (10k yuan)", "decimal", None, None, None, None, "public", None, "legal_entity"),
    ("DE0014", "成立日期", "date established", "date", None, None, None, "date", "public", None, "legal_entity"),
    ("DE0015", "经营范围", "business scope", "string", 2000, None, None, None, "public", None, "legal_entity"),
    ("DE0016", "婚姻状况代码", "marital status", "string", 2, None, "GB/T 4766", "code_list", "highly_sensitive", None, "population"),
    ("DE0017", "死亡日期", "date of death", "date", None, None, None, "date", "sensitive", None, "population"),
    ("DE0018", "学历代码", "education level", "string", 2, None, "GB/T 4658", "code_list", "internal", None, "population"),
    ("DE0019", "证照编号", "licence number", "string", 64, None, None, None, "internal", None, None),
    ("DE0020", "登记日期", "registration date", "date", None, None, None, "date", "internal", None, None),
    ("DE0021", "不动产单元号", "real estate unit number", "string", 28, r"\d{12}[A-Z]{2}\d{5}[A-Z]\d{8}", None, "pattern", "internal", None, None),
    ("DE0022", "医学出生证明编号", "birth certificate number", "string", 10, r"[A-Z]\d{9}", None, "pattern", "sensitive", None, "population"),
    # A company's numbers before the credit code (GB 32100): the registry maps them to it.
    ("DE0023", "注册号", "business registration number", "string", 15, r"\d{15}", None, "pattern", "public", None, "legal_entity"),
    ("DE0024", "组织机构代码", "organisation code", "string", 10, r"[0-9A-Z]{8}-?[0-9X]", None, "pattern", "public", None, "legal_entity"),
    ("DE0025", "社会保险参保状态", "social insurance status", "string", 20, None, None, None, "internal", None, "population"),
    ("DE0026", "登记状态", "registration status", "string", 20, None, None, None, "public", None, "legal_entity"),
)
