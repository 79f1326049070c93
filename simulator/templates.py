"""Canned sentences of the simulated roles, per strategy and language.

Every supporter template carries the keywords `labeller.guess_strategy` looks for, so the
simulated annotator mostly reads back the strategy a simulated supporter was told to follow.
"""

from __future__ import annotations

SUPPORTER: dict[str, dict[int, tuple[str, ...]]] = {
    "zh": {
        1: ("您好，欢迎致电客户服务中心，很高兴为您服务，请问有什么可以帮您？",
            "您好，我是今天为您服务的客服专员，有什么需要尽管告诉我。",
            "您好，感谢您耐心等待，这里是客服热线，很高兴为您服务。"),
        2: ("为了保障您的账户安全，麻烦您先提供一下姓名和预留手机号，我帮您核实身份。",
            "在为您查询之前需要先确认身份，请告诉我您的姓名和身份证后四位。",
            "请您提供一下开户时预留的手机号码和姓名，核实无误后我马上为您处理。"),
        3: ("我跟您确认一下，您是说{issue}，对吗？",
            "也就是说，您遇到的情况是{issue}，我理解得没错吧？",
            "您的意思是{issue}，是这样吗？"),
        4: ("请问{issue}这个情况大概是从什么时候开始的？",
            "能否再具体说一下，这件事涉及的是哪一笔业务、发生在什么时间？",
            "请问您之前有没有在手机银行或者网点操作过相关设置？"),
        5: ("非常抱歉给您带来了困扰，我理解您的心情，请您别着急，我一定尽力帮您。",
            "真的很抱歉让您久等了，遇到{issue}这种事确实让人着急，我们一起来看看。",
            "我理解您的担心，这件事确实影响到您了，请您放心，我会全程跟进。"),
        6: ("针对{issue}，建议您先登录手机银行核对一下相关记录，如有异常再联系我们。",
            "您可以先在App里按步骤重新操作一次，如果还是不行，建议您带上有效证件去附近网点。",
            "我这边建议您先暂停相关的自动扣款，再根据需要重新设置，这样最稳妥。"),
        7: ("按照我们的规定，这类业务一般会在3到5个工作日内处理完毕，期间不会产生额外费用。",
            "根据相关条款，{issue}的处理流程是先提交申请、再由后台审核，结果会短信通知您。",
            "跟您说明一下，目前这项业务的手续费是按照交易金额的一定比例收取的。"),
        8: ("我已经为您提交了处理申请，工单号稍后会以短信形式发送给您。",
            "好的，正在为您办理，系统显示已经受理成功，预计很快就能完成。",
            "已为您完成相关设置，{issue}的问题现在应该处理好了。"),
        9: ("请问以上处理结果您还满意吗？",
            "这样处理您看是否满意？还有其他需要我帮忙的地方吗？",
            "不知道刚才的解答有没有帮到您，您还有什么其他问题吗？"),
        10: ("以后如有新的优惠活动，我们会第一时间通知您，也欢迎您关注我们的官方公众号。",
             "后续如果还有任何疑问，欢迎您随时联系我们，我们会持续为您跟进。",
             "今后您也可以通过手机银行查看进度，有新的服务我们会及时告知您。"),
        11: ("感谢您的来电，祝您生活愉快，再见！",
             "非常感谢您的耐心与配合，祝您一切顺利，再见。",
             "谢谢您的支持，如无其他问题就先不打扰您了，再见。"),
        12: ("好的，请您稍等片刻。",
             "嗯，我这边记录下来了，请您稍候。",
             "好的，稍等一下，系统正在查询中。"),
    },
    "en": {
        1: ("Hello, thank you for calling customer service, I'm glad to help you today.",
            "Hi, welcome to the support line, how can I help you today?",
            "Good morning, this is the customer care team, it's a pleasure to assist you."),
        2: ("For your account's security, could you give me your full name and the phone number "
            "on file so I can verify your identity?",
            "Before I look into this, I need to confirm your identity: may I have your name and "
            "your date of birth?",
            "Could you tell me your account number and your full name, please, so I can "
            "complete the verification?"),
        3: ("Just to confirm, you mean that {issue}, is that right?",
            "So you are saying that {issue}, have I got that right?",
            "If I understand correctly, {issue}; is that the situation?"),
        4: ("When did you first notice that {issue}?",
            "Could you tell me which transaction this is about and roughly when it happened?",
            "Which device or channel were you using when the problem appeared?"),
        5: ("I'm really sorry about the trouble this has caused, and I understand your "
            "frustration; let's sort it out together.",
            "I apologize for the wait, and I can see this is upsetting; I'll stay with you "
            "until it's settled.",
            "I understand how stressful this is, and I'm sorry you had to deal with it."),
        6: ("About {issue}, I'd suggest checking the recent records in the mobile app first, "
            "then contacting us if anything looks wrong.",
            "You can try signing out, updating the app and doing the step again; if it still "
            "fails, a branch visit with your ID card is the fastest route.",
            "I'd recommend pausing the automatic payment first and setting it up again "
            "afterwards."),
        7: ("According to our policy, requests like this are handled within three to five "
            "business days, with no extra fee.",
            "The process works like this: you submit a request, our back office reviews it, "
            "and a text message tells you the result.",
            "For your information, the fee for this service is a fixed share of the "
            "transaction amount, as stated in the terms."),
        8: ("I have submitted the request for you, and the ticket number will arrive by text "
            "message shortly.",
            "I am now processing it; the system shows the request was accepted and it should "
            "be done soon.",
            "I've updated the settings on your account, so {issue} should be sorted now."),
        9: ("Are you satisfied with how this was handled?",
            "Does that solve it for you, and is there anything else I can help with?",
            "Did that help, or is there anything else on your mind?"),
        10: ("In the future we'll tell you first about new offers, and you can also follow our "
             "official account.",
             "If anything comes up later, feel free to contact us at any time; we'll keep you "
             "posted.",
             "We'll keep you updated on the progress, and you'll hear from us about new "
             "services."),
        11: ("Thank you for calling, have a nice day, goodbye!",
             "Thanks a lot for your patience, take care and goodbye.",
             "Thank you for your support; if there's nothing more, I'll let you go now, bye."),
        12: ("Okay, please hold on a moment.",
             "Alright, I'm noting that down, one moment please.",
             "Sure, give me a second while the system loads."),
    },
}

ISSUE_FALLBACK = {"zh": "您反映的问题", "en": "the issue you raised"}
UNREASONABLE_NOTE = {
    "zh": "不过您提出的这个要求超出了我们的规定范围，恐怕没办法满足。",
    "en": "That said, this request goes beyond what our rules allow, so I cannot grant it.",
}

# Customer lines by what the supporter just did (a strategy id) or by purpose (a name).
CUSTOMER: dict[str, dict[int | str, tuple[str, ...]]] = {
    "zh": {
        2: ("好的，我叫[姓名]，手机号是[手机号码]。", "我是[姓名]，身份证号是[身份证号]。",
            "行，名字是[姓名]，预留的手机号是[手机号码]。"),
        3: ("对，就是这个问题。", "没错，是这样的。", "嗯，你说得对，就是这样。"),
        4: ("大概是上周的事情，具体哪天我记不太清了。", "就是前两天，在手机上操作的时候出现的。",
            "我之前没改过什么设置，突然就这样了。"),
        5: ("嗯，好吧，你们尽快处理就行。", "行吧，我就是有点着急。", "好，那你赶紧帮我看看。"),
        6: ("好的，明白了，那我按你说的试试。", "行，我回头照这个步骤操作一下。",
            "那我要怎么操作才最快？"),
        7: ("哦，原来是这样，知道了。", "那大概多久能有结果？", "好的，这个规定我了解了。"),
        8: ("好的，那我等你们的消息。", "太好了，麻烦你了。", "行，办好了就行。"),
        9: ("挺满意的，没有其他问题了，谢谢。", "满意，没别的事了，谢谢啊。",
            "嗯，解决了就好，没有其他问题了。"),
        10: ("好的，谢谢你。", "行，有需要我再联系你们。", "好的，知道了。"),
        11: ("好的，再见。", "嗯，拜拜。", "谢谢，再见。"),
        12: ("好的，我等一下。", "嗯，不着急。", "行，你查吧。"),
        "nudge": ("喂？还在吗？", "你好？能听到吗？", "喂，怎么没声音了？"),
        "opener": ("喂，你好。", "你好，请问是客服吗？", "喂，您好，我想咨询点事。"),
    },
    "en": {
        2: ("Sure, my name is [NAME] and my number is [PHONE].",
            "It's [NAME], and my ID number is [ID_NUMBER].",
            "Okay, the name is [NAME] and the phone on file is [PHONE]."),
        3: ("Yes, exactly.", "That's right.", "Yeah, that's the problem."),
        4: ("It was sometime last week, I don't remember the exact day.",
            "Just a couple of days ago, when I was using my phone.",
            "I didn't change any settings, it just started happening."),
        5: ("Okay, fine, just please get it sorted soon.", "Alright, I'm just a bit stressed.",
            "Okay, then please look into it quickly."),
        6: ("Okay, got it, I'll try that.", "Alright, I'll follow those steps later.",
            "So what's the quickest way to do it?"),
        7: ("I see, thanks for explaining.", "How long until I get a result, then?",
            "Okay, I understand the rule now."),
        8: ("Okay, I'll wait to hear from you.", "Great, thanks for doing that.",
            "Alright, as long as it's done."),
        9: ("Yes, I'm happy with that, nothing else, thanks.", "All good, that's everything.",
            "That sorted it, no other questions."),
        10: ("Okay, thank you.", "Sure, I'll reach out if I need anything.", "Got it."),
        11: ("Okay, bye.", "Thanks, goodbye.", "Bye now."),
        12: ("Sure, I'll wait.", "No rush.", "Okay, go ahead and check."),
        "nudge": ("Hello? Are you still there?", "Hi? Can you hear me?",
                  "Hello, did the line drop?"),
        "opener": ("Hello?", "Hi, is this customer support?", "Hello, I have a question."),
    },
}

SYSTEM_NOTES = {
    "zh": ("（系统提示：通话已结束）", "（客户已挂机）", "（通话结束，转入满意度调查）",
           "（挂机）"),
    "en": ("(system: call ended)", "(customer hung up)", "(call ended, survey started)",
           "(hangs up)"),
}

# The seven RoleCS topics: match words, then scenarios and goals per language.
TOPICS: tuple[dict, ...] = (
    {"match": ("产品", "product"),
     "zh": (("客户在比较两款储蓄产品，想知道哪一款更适合自己",
             "客户看到新上线的信用卡，想了解权益"),
            ("弄清产品的收益、期限和门槛后决定是否购买", "确认年费和权益后申请一张合适的卡")),
     "en": (("the customer is comparing two savings products", "the customer saw a new credit "
             "card and wants to know its benefits"),
            ("understand returns, term and minimum amount before deciding",
             "confirm the annual fee and perks, then apply for a suitable card"))},
    {"match": ("营销", "推广", "优惠", "活动", "market", "promot"),
     "zh": (("客户收到一条优惠活动短信，不确定是否真实", "客户参加了满减活动但没有收到返现"),
            ("确认活动真伪并了解参加条件", "拿到应得的返现或弄清未到账的原因")),
     "en": (("the customer got a promotional text and is unsure it is genuine",
             "the customer joined a cashback offer but received nothing"),
            ("check the offer is real and learn how to join",
             "get the cashback owed or learn why it has not arrived"))},
    {"match": ("账户", "交易", "转账", "account", "transaction"),
     "zh": (("客户发现账户里有一笔不认识的扣款", "客户的转账显示成功但对方没有收到"),
            ("查清扣款来源并阻止再次扣款", "找到转账的去向并让对方尽快收到钱")),
     "en": (("the customer found a charge they do not recognise",
             "a transfer shows as sent but the payee has not received it"),
            ("find where the charge came from and stop it happening again",
             "trace the transfer and get the money to the payee"))},
    {"match": ("理财", "规划", "投资", "financ", "planning", "invest"),
     "zh": (("客户有一笔闲置资金，想做稳健的理财规划", "客户想为孩子的教育提前存钱"),
            ("得到一份风险较低的配置建议", "了解适合长期储蓄的方案和注意事项")),
     "en": (("the customer has idle savings and wants a cautious plan",
             "the customer wants to save ahead for a child's education"),
            ("get a low-risk allocation suggestion", "learn which long-term saving plan fits"))},
    {"match": ("风险", "安全", "诈骗", "盗", "risk", "secur", "fraud"),
     "zh": (("客户接到自称客服的可疑电话，担心信息泄露", "客户的银行卡在外地被尝试消费"),
            ("确认账户安全并冻结可疑操作", "锁定银行卡并补办新卡")),
     "en": (("the customer got a suspicious call from someone claiming to be support",
             "someone tried to use the customer's card in another city"),
            ("make sure the account is safe and block anything suspicious",
             "lock the card and get a replacement"))},
    {"match": ("投诉", "纠纷", "争议", "complain", "dispute"),
     "zh": (("客户对上次的服务很不满意，要投诉网点工作人员", "客户认为被多收了费用，要求退还"),
            ("让投诉被正式受理并得到处理时限", "拿回多收的费用并得到解释")),
     "en": (("the customer is unhappy with a branch visit and wants to complain",
             "the customer believes they were overcharged and wants it back"),
            ("have the complaint formally logged with a deadline",
             "get the extra charge refunded and an explanation"))},
    {"match": ("技术", "线上", "网银", "app", "技术支持", "technical", "online", "app"),
     "zh": (("客户登录手机App时一直提示验证失败", "客户在网银上付款时页面卡住不动"),
            ("恢复正常登录", "确认付款是否成功并完成支付")),
     "en": (("the customer keeps failing verification when logging into the app",
             "the online banking page froze during a payment"),
            ("log in normally again", "find out whether the payment went through"))},
)

TONES = {
    "zh": ("语气直接、说话简短", "有点急躁、希望马上解决", "说话客气、耐心",
           "爱刨根问底、喜欢确认细节"),
    "en": ("direct and brief", "a little impatient and wants a quick fix", "polite and patient",
           "curious and keen to confirm every detail"),
}
